DROP TABLE server_meta;
DROP TABLE signing_keys;
DROP TABLE compartment;
DROP TABLE resource_history;
DROP TABLE resources;
