// The Bedside sample app's page (the redirect URI): finishes the SMART launch with fhirclient, then shows
// the patient's active care plan with its upcoming appointments and goals, and the latest vital signs and
// lab results.
//
// FHIR requests (all for the one patient of the launch):
//   Patient/{id}
//   CarePlan?patient={id}&status=active&_include=CarePlan:goal&_include=CarePlan:activity-reference
//     (the plans, with the Goals and Appointments they point to, in one search)
//   Observation?patient={id}&category=vital-signs&_sort=-date   (newest first; one row per code)
//   Observation?patient={id}&category=laboratory&_sort=-date
// Every value reaches the page through textContent, never as HTML.
"use strict";

(function () {
  var main = document.getElementById("main");
  var UNITS = { Cel: "°C", "[degF]": "°F", "kg/m2": "kg/m²", "/min": "/min", "mm[Hg]": "mmHg" };
  var INTERPRETATION = { H: "High", HH: "Critically high", L: "Low", LL: "Critically low", A: "Abnormal", N: "Normal" };
  // Appointments in the future with one of these statuses are not upcoming (called off, missed, done).
  var DONE = ["cancelled", "noshow", "fulfilled", "entered-in-error"];
  var PAGES = 3; // newest observations first: three pages of 100 hold the latest of every code

  // --- small DOM helpers -------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === undefined || attrs[k] === null) return;
      if (k === "class") node.className = attrs[k];
      else if (k.indexOf("data-") === 0 || k === "role") node.setAttribute(k, attrs[k]);
      else node[k] = attrs[k];
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === "") return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function show(id, content) {
    var body = document.getElementById(id + "-body");
    body.textContent = "";
    body.appendChild(content);
    document.getElementById(id).hidden = false;
  }
  function note(text, cls) {
    return el("p", { class: cls || "empty" }, [text]);
  }
  function problem(what, e) {
    var status = e && (e.status || e.statusCode);
    var text = what + " could not be loaded" + (status ? " (HTTP " + status + ")" : "") + ": " + message(e);
    return el("p", { class: "error", role: "alert" }, [text]);
  }
  // A promise that never rejects: { ok, value } or { ok: false, error } (so requests can run side by side
  // and each failure is shown where it belongs).
  function settle(promise) {
    return Promise.resolve(promise).then(
      function (value) { return { ok: true, value: value }; },
      function (error) { return { ok: false, error: error }; },
    );
  }
  function message(e) {
    return String((e && e.message) || e);
  }

  // --- FHIR value helpers --------------------------------------------------------------------------
  function text(cc) {
    if (!cc) return "";
    if (cc.text) return cc.text;
    var c = (cc.coding || [])[0] || {};
    return c.display || c.code || "";
  }
  function codeKey(cc) {
    var c = ((cc && cc.coding) || [])[0];
    return c ? (c.system || "") + "|" + (c.code || "") : "text|" + text(cc);
  }
  function humanName(p) {
    var n = (p.name || []).find(function (x) { return x.use === "official"; }) || (p.name || [])[0];
    if (!n) return "Unnamed patient";
    if (n.text) return n.text;
    return [(n.prefix || []).join(" "), (n.given || []).join(" "), n.family].filter(Boolean).join(" ");
  }
  function unit(q) {
    var u = q.unit || q.code || "";
    return UNITS[u] || u;
  }
  function quantity(q) {
    if (!q || q.value === undefined) return "";
    var u = unit(q);
    return (q.comparator ? q.comparator + " " : "") + q.value + (u ? (u === "%" ? "" : " ") + u : "");
  }
  // "2026-03-05" is a calendar date (shown as is, whatever the time zone); longer values are instants.
  function parseDate(s) {
    if (!s) return null;
    var m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(s);
    if (m) return { date: new Date(+m[1], (+m[2] || 1) - 1, +m[3] || 1), dateOnly: true };
    var d = new Date(s);
    return isNaN(d) ? null : { date: d, dateOnly: false };
  }
  function timeEl(s, withTime) {
    var p = parseDate(s);
    if (!p) return el("span", {}, [s || ""]);
    var opts = withTime && !p.dateOnly ? { dateStyle: "full", timeStyle: "short" } : { dateStyle: "medium" };
    return el("time", { dateTime: s }, [new Intl.DateTimeFormat(undefined, opts).format(p.date)]);
  }
  function period(pd) {
    if (!pd || (!pd.start && !pd.end)) return null;
    if (pd.start && pd.end) return el("span", {}, [timeEl(pd.start), " – ", timeEl(pd.end)]);
    if (pd.start) return el("span", {}, ["since ", timeEl(pd.start)]);
    return el("span", {}, ["until ", timeEl(pd.end)]);
  }
  function effective(o) {
    return o.effectiveDateTime || (o.effectivePeriod && o.effectivePeriod.start) || o.effectiveInstant || o.issued || "";
  }
  function when(s) {
    var p = parseDate(s);
    return p ? p.date.getTime() : 0;
  }
  function resources(data) {
    // client.request gives one Bundle, or with pageLimit > 1 an array of Bundles.
    var out = [];
    [].concat(data).forEach(function (b) {
      (b && b.entry || []).forEach(function (e) {
        if (e.resource) out.push({ resource: e.resource, mode: (e.search && e.search.mode) || "match" });
      });
    });
    return out;
  }
  function observations(data) {
    return resources(data).map(function (x) { return x.resource; }).filter(function (r) { return r.resourceType === "Observation"; });
  }
  function interpretation(o) {
    var codes = [];
    [o].concat(o.component || []).forEach(function (x) {
      (x.interpretation || []).forEach(function (cc) {
        (cc.coding || []).forEach(function (c) { if (c.code) codes.push(c.code); });
      });
    });
    var worst = ["HH", "LL", "H", "L", "A"].find(function (c) { return codes.indexOf(c) >= 0; });
    return worst || (codes.indexOf("N") >= 0 ? "N" : null);
  }
  function obsValue(o) {
    if (o.valueQuantity) return quantity(o.valueQuantity);
    if (o.valueCodeableConcept) return text(o.valueCodeableConcept);
    if (typeof o.valueString === "string") return o.valueString;
    if (o.component && o.component.length) {
      var qs = o.component.map(function (c) { return c.valueQuantity; }).filter(Boolean);
      var units = qs.map(unit);
      if (qs.length === o.component.length && units.every(function (u) { return u === units[0]; })) {
        // e.g. blood pressure: 128/82 mmHg
        return qs.map(function (q) { return q.value; }).join("/") + " " + units[0];
      }
      return o.component.map(function (c) { return text(c.code) + ": " + (quantity(c.valueQuantity) || text(c.valueCodeableConcept)); }).join("; ");
    }
    if (o.dataAbsentReason) return "(" + text(o.dataAbsentReason) + ")";
    return "";
  }
  function range(o) {
    var r = (o.referenceRange || [])[0];
    if (!r) return "";
    if (r.text) return r.text;
    if (r.low && r.high) return r.low.value + "–" + quantity(r.high);
    if (r.low) return "≥ " + quantity(r.low);
    if (r.high) return "≤ " + quantity(r.high);
    return "";
  }

  // --- sections ------------------------------------------------------------------------------------
  function schedule(t) {
    var r = t && t.repeat;
    if (!r || !r.frequency || !r.periodUnit) return "";
    var units = { s: "second", min: "minute", h: "hour", d: "day", wk: "week", mo: "month", a: "year" };
    var times = r.frequency === 1 ? "once" : r.frequency === 2 ? "twice" : r.frequency + " times";
    var per = (r.period || 1) === 1 ? "a " + units[r.periodUnit] : "every " + r.period + " " + units[r.periodUnit] + "s";
    return times + " " + per;
  }

  function renderPlans(plans) {
    var box = el("div");
    plans.forEach(function (cp) {
      var categories = (cp.category || []).map(text).filter(Boolean).join(" · ");
      var activities = (cp.activity || []).filter(function (a) { return a.detail; }).map(function (a) {
        var d = a.detail;
        var how = schedule(d.scheduledTiming);
        return el("li", {}, [
          el("strong", {}, [text(d.code) || d.description || "Activity"]),
          d.description && text(d.code) ? " — " + d.description : "",
          how ? el("span", { class: "muted" }, [" (" + how + ")"]) : null,
        ]);
      });
      var during = period(cp.period);
      var article = el("article", { class: "plan", "data-id": "CarePlan/" + cp.id }, [
        el("h3", { class: "plan-title" }, [cp.title || text((cp.category || [])[0]) || "Care plan"]),
        el("p", { class: "muted" }, [
          "Status: " + cp.status,
          during ? " · " : "",
          during,
          categories ? " · " + categories : "",
        ]),
        cp.description ? el("p", {}, [cp.description]) : null,
        activities.length ? el("h4", {}, ["Activities"]) : null,
        activities.length ? el("ul", { class: "activities" }, activities) : null,
      ]);
      box.appendChild(article);
    });
    return box;
  }

  function planRefs(plans, pick) {
    var refs = [];
    plans.forEach(function (cp) {
      pick(cp).forEach(function (r) {
        if (r && r.reference && refs.indexOf(r.reference) < 0) refs.push(r.reference);
      });
    });
    return refs;
  }

  function participant(a, type) {
    var p = (a.participant || []).find(function (x) {
      return x.actor && x.actor.reference && x.actor.reference.indexOf(type + "/") === 0;
    });
    return p ? p.actor.display || p.actor.reference : "";
  }

  function renderAppointments(plans, included, now) {
    var refs = planRefs(plans, function (cp) {
      return (cp.activity || []).map(function (a) { return a.reference; });
    }).filter(function (r) { return r.indexOf("Appointment/") === 0; });
    var upcoming = refs
      .map(function (r) { return included[r]; })
      .filter(function (a) { return a && a.start && when(a.start) >= now && DONE.indexOf(a.status) < 0; })
      .sort(function (x, y) { return when(x.start) - when(y.start); });
    if (!upcoming.length) return note("No upcoming appointments in this care plan.");
    return el("ol", { class: "cards" }, upcoming.map(function (a) {
      var who = participant(a, "Practitioner");
      var where = participant(a, "Location");
      return el("li", { "data-id": "Appointment/" + a.id }, [
        el("p", { class: "when" }, [timeEl(a.start, true)]),
        el("p", {}, [
          el("strong", { class: "what" }, [a.description || text(a.appointmentType) || "Appointment"]),
          a.status === "booked" ? el("span", { class: "tag" }, ["Booked"]) :
            el("span", { class: "tag tag-pending" }, [a.status === "proposed" ? "Proposed, not confirmed yet" : a.status]),
        ]),
        who || where ? el("p", { class: "muted" }, [[who && "with " + who, where && "at " + where].filter(Boolean).join(", ")]) : null,
        a.patientInstruction ? el("p", { class: "instruction" }, [a.patientInstruction]) : null,
      ]);
    }));
  }

  function target(t) {
    var parts = [text(t.measure)];
    if (t.detailQuantity) parts.push(quantity(t.detailQuantity));
    else if (t.detailRange) {
      var r = t.detailRange;
      parts.push((r.low ? r.low.value : "") + "–" + (r.high ? quantity(r.high) : ""));
    }
    var line = el("span", {}, ["Target: " + parts.filter(Boolean).join(" ")]);
    if (t.dueDate) {
      line.appendChild(document.createTextNode(" by "));
      line.appendChild(timeEl(t.dueDate));
    }
    return line;
  }

  function renderGoals(plans, included) {
    var refs = planRefs(plans, function (cp) { return cp.goal || []; });
    var goals = refs.map(function (r) { return included[r]; }).filter(Boolean);
    var box = el("div");
    if (!refs.length) box.appendChild(note("This care plan has no goals."));
    if (goals.length) {
      box.appendChild(el("ul", { class: "cards" }, goals.map(function (g) {
        var status = [g.lifecycleStatus, text(g.achievementStatus)].filter(Boolean).join(", ");
        return el("li", { "data-id": "Goal/" + g.id }, [
          el("p", {}, [el("strong", { class: "what" }, [text(g.description) || "Goal"])]),
          status ? el("p", { class: "muted" }, ["Status: " + status]) : null,
          (g.target || []).length ? el("ul", { class: "targets" }, g.target.map(function (t) { return el("li", {}, [target(t)]); })) : null,
        ]);
      })));
    }
    if (goals.length < refs.length) {
      box.appendChild(note((refs.length - goals.length) + " goal(s) of the plan could not be read.", "error"));
    }
    return box;
  }

  // Newest first; the first Observation of each code is its latest value.
  function latestByCode(observations) {
    var seen = {};
    observations
      .slice()
      .sort(function (x, y) { return when(effective(y)) - when(effective(x)) || (x.id < y.id ? -1 : 1); })
      .forEach(function (o) {
        var k = codeKey(o.code);
        if (!seen[k] && o.status !== "entered-in-error") seen[k] = o;
      });
    return Object.keys(seen)
      .map(function (k) { return seen[k]; })
      .sort(function (x, y) { return text(x.code).localeCompare(text(y.code)); });
  }

  function renderObservations(observations, withRange, empty) {
    var latest = latestByCode(observations);
    if (!latest.length) return note(empty);
    var head = [withRange ? "Test" : "Measurement", "Value"].concat(withRange ? ["Normal range", "Flag"] : ["Flag"], ["Date"]);
    var rows = latest.map(function (o) {
      var flag = interpretation(o);
      var cells = [
        el("th", { scope: "row" }, [text(o.code)]),
        el("td", { class: "value" }, [obsValue(o)]),
      ];
      if (withRange) cells.push(el("td", {}, [range(o)]));
      cells.push(el("td", {}, flag ? [el("span", { class: "flag flag-" + flag }, [INTERPRETATION[flag] || flag])] : []));
      cells.push(el("td", { class: "date" }, [timeEl(effective(o))]));
      return el("tr", { "data-id": "Observation/" + o.id, "data-code": codeKey(o.code) }, cells);
    });
    return el("table", {}, [
      el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { scope: "col" }, [h]); }))]),
      el("tbody", {}, rows),
    ]);
  }

  // --- the page ------------------------------------------------------------------------------------
  function finish(state) {
    main.setAttribute("aria-busy", "false");
    main.setAttribute("data-state", state);
  }
  function fatal(what, e) {
    document.getElementById("status").hidden = true;
    var box = document.getElementById("error");
    box.hidden = false;
    box.textContent = "";
    box.appendChild(el("p", {}, [what + ": " + message(e)]));
    box.appendChild(el("p", {}, [el("a", { href: "launch.html" }, ["Start again"])]));
    finish("error");
  }

  async function start() {
    if (typeof FHIR === "undefined") return fatal("The SMART library did not load", "fhir-client.min.js is missing");
    var client;
    try {
      client = await FHIR.oauth2.ready();
    } catch (e) {
      return fatal("Sign-in did not complete", e);
    }
    var server = client.state.serverUrl;
    document.getElementById("restart").href = "launch.html?iss=" + encodeURIComponent(server);
    var pid = client.getPatientId();
    if (!pid) return fatal("No patient", "the authorization server gave this app no patient");
    var fhirUser = client.getFhirUser();
    if (fhirUser) {
      var user = document.getElementById("user");
      user.textContent = "Signed in as " + fhirUser;
      user.hidden = false;
    }
    var q = "patient=" + encodeURIComponent(pid);
    var now = Date.now();

    var patient = settle(client.request("Patient/" + encodeURIComponent(pid)));
    var plans = settle(client.request(
      "CarePlan?" + q + "&status=active&_include=CarePlan:goal&_include=CarePlan:activity-reference&_count=50",
      { pageLimit: 0 },
    ));
    var vitals = settle(client.request("Observation?" + q + "&category=vital-signs&_sort=-date&_count=100", { pageLimit: PAGES }));
    var labs = settle(client.request("Observation?" + q + "&category=laboratory&_sort=-date&_count=100", { pageLimit: PAGES }));
    // Where a patient sees and ends the access of apps (SMART management_endpoint), if the server has one.
    var config = settle(fetch(server.replace(/\/$/, "") + "/.well-known/smart-configuration").then(function (r) {
      return r.ok ? r.json() : {};
    }));

    var p = await patient;
    if (p.ok) {
      var name = humanName(p.value);
      document.getElementById("patient-name").textContent = name;
      document.title = name + " · Bedside sample app";
      var d = document.getElementById("patient-details");
      if (p.value.birthDate) d.append("Born ", timeEl(p.value.birthDate));
      if (p.value.gender) d.append((p.value.birthDate ? " · " : "") + p.value.gender);
      d.hidden = !d.textContent;
    } else {
      var pd = document.getElementById("patient-details");
      pd.appendChild(problem("The patient's name", p.error));
      pd.hidden = false;
    }

    var cp = await plans;
    if (cp.ok) {
      var found = resources(cp.value);
      var active = found
        .filter(function (x) { return x.mode === "match" && x.resource.resourceType === "CarePlan"; })
        .map(function (x) { return x.resource; })
        .sort(function (x, y) { return when((y.period || {}).start) - when((x.period || {}).start); });
      var included = {};
      found.forEach(function (x) {
        if (x.mode === "include") included[x.resource.resourceType + "/" + x.resource.id] = x.resource;
      });
      if (!active.length) {
        show("careplan", note("There is no active care plan in this record."));
      } else {
        show("careplan", renderPlans(active));
        show("appointments", renderAppointments(active, included, now));
        show("goals", renderGoals(active, included));
      }
    } else {
      show("careplan", problem("The care plan", cp.error));
    }

    var v = await vitals;
    show("vitals", v.ok ? renderObservations(observations(v.value), false, "No vital signs recorded.") : problem("Vital signs", v.error));
    var l = await labs;
    show("labs", l.ok ? renderObservations(observations(l.value), true, "No lab results recorded.") : problem("Lab results", l.error));

    var c = await config;
    var manage = c.ok && c.value && c.value.management_endpoint;
    if (manage && /^https?:\/\//.test(manage) && client.getUserType() === "Patient") {
      document.getElementById("manage").href = manage;
      document.getElementById("manage-item").hidden = false;
    }

    document.getElementById("status").hidden = true;
    finish("ready");
  }

  start().catch(function (e) {
    fatal("Something went wrong", e);
  });
})();
