UPDATE oauth_clients
SET scope = ''
WHERE scope = 'patient/*.cruds user/*.cruds openid fhirUser profile launch launch/patient launch/encounter offline_access online_access';
