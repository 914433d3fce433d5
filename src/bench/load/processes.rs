//! The processes of a run: the server under test (`bedside serve` as a child process on a free
//! loopback port), the ceiling (a bare actix-web handler on a thread), and the scratch folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::Http;

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Resident memory of a process, MB (Linux).
pub(super) fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A scratch folder for the database, the server's log and the NDJSON files, removed at the end.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new() -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!("bedside-bench-load-{}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(TempDir(p))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The child process running `bedside serve`.
pub(super) struct Server {
    child: Child,
    pub(super) base: String,
}

impl Server {
    pub(super) fn start(url: &str, workers: usize, log: &Path) -> Result<Server, String> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the bedside binary: {e}"))?;
        let log_file = std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let err_file = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--base-url")
            .arg(&base)
            .arg("--database-url")
            .arg(url)
            .arg("--rate-limit")
            .arg("0")
            .arg("--workers")
            .arg(workers.to_string())
            .env("BEDSIDE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut server = Server { child, base };
        let http = Http::new()?;
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = http.send(http.client.get(format!("{}/healthz", server.base))) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the server exited ({status}); see {}", log.display()));
            }
            if started.elapsed() > Duration::from_secs(120) {
                server.stop();
                return Err(format!("the server did not start within 120 s; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM: it finishes requests and flushes the access log), then kills
    /// it if it has not stopped within 40 s.
    pub(super) fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(40) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A bare actix-web handler returning `body` for every request (the ceiling), on its own thread.
pub(super) struct Ceiling {
    pub(super) url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ceiling {
    pub(super) fn start(body: Vec<u8>, workers: usize) -> Result<Ceiling, String> {
        use actix_web::{web, App, HttpResponse, HttpServer};
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (tx, rx) = std::sync::mpsc::channel();
        let body = web::Bytes::from(body);
        let thread = std::thread::spawn(move || {
            let _ = actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let body = body.clone();
                    App::new().default_service(web::to(move || {
                        let body = body.clone();
                        async move { HttpResponse::Ok().content_type("application/fhir+json").body(body) }
                    }))
                })
                .workers(workers)
                .disable_signals()
                .listen(listener);
                match server {
                    Ok(s) => {
                        let s = s.run();
                        let _ = tx.send(Ok(s.handle()));
                        s.await
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        Ok(())
                    }
                }
            });
        });
        let handle = rx.recv().map_err(|e| e.to_string())??;
        Ok(Ceiling { url: format!("http://127.0.0.1:{port}/fhir/Observation/x"), handle, thread: Some(thread) })
    }

    pub(super) fn stop(mut self) {
        let sys = actix_web::rt::System::new();
        sys.block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
