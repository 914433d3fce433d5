// The SMART launch of the Bedside sample app (SMART App Launch 2.x with SMART Health IT's fhirclient).
//
// EHR launch: the EHR opens launch.html?iss=<FHIR base>&launch=<launch value> (`bedside launch` makes one).
// Standalone launch: the person opens launch.html?iss=<FHIR base>, or launch.html alone, which uses the
// Bedside server that serves this page. fhirclient reads iss and launch from the URL, discovers the
// server's endpoints, makes a PKCE pair and sends the browser to sign-in and consent; the server sends it
// back to index.html.
"use strict";

(function () {
  // The demo's public client (`bedside serve --demo` registers .../apps/sample/index.html for it).
  var CLIENT_ID = "demo-app";
  // Standalone: the patient signs in, the record is theirs (launch/patient). EHR: the record open in the
  // EHR (launch, added to the scope because the URL carries a launch value). Both: read and search
  // everything of that one patient, who is signed in (openid fhirUser), and stay connected
  // (offline_access: a refresh token).
  var STANDALONE_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs";
  var EHR_SCOPE = "launch openid fhirUser offline_access patient/*.rs";

  var params = new URLSearchParams(location.search);
  var ehr = params.has("launch");
  // The app is served at <base>/apps/sample/, the FHIR API at <base>/fhir.
  var iss = params.get("iss") || new URL("../../fhir", location.href).href;

  function fail(message) {
    document.getElementById("status").hidden = true;
    var box = document.getElementById("error");
    box.hidden = false;
    box.textContent = "";
    var p = document.createElement("p");
    p.textContent = "The app could not start: " + message;
    box.appendChild(p);
  }

  if (typeof FHIR === "undefined") {
    fail("the SMART library (fhir-client.min.js) did not load.");
    return;
  }
  document.getElementById("status").textContent = ehr
    ? "Opening the record the EHR launched this app for…"
    : "Sending you to sign in…";
  FHIR.oauth2
    .authorize({
      clientId: CLIENT_ID,
      scope: ehr ? EHR_SCOPE : STANDALONE_SCOPE,
      iss: iss,
      redirectUri: "index.html",
    })
    .catch(function (e) {
      fail(String((e && e.message) || e));
    });
})();
