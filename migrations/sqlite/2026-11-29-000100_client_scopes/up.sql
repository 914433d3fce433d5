-- Every client now has an explicit set of scopes it may be granted; an empty set used to mean "any
-- scope", which let a dynamically registered client with its own keys get system/*.cruds.
-- Existing clients without a registered set get the default of apps that users launch: patient/
-- and user/ scopes plus the identity, launch and refresh scopes — never system/. Backend services
-- (private_key_jwt, no redirect URI) must be given their system/ scopes again by the operator:
--   bedside client scope --client-id ID --scope 'system/*.rs'
UPDATE oauth_clients
SET scope = 'patient/*.cruds user/*.cruds openid fhirUser profile launch launch/patient launch/encounter offline_access online_access'
WHERE TRIM(scope) = '';
