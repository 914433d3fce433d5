DROP TABLE idx_uri;
DROP TABLE idx_number;
DROP TABLE idx_quantity;
DROP TABLE idx_reference;
DROP TABLE idx_date;
DROP TABLE idx_token;
DROP TABLE idx_string;
