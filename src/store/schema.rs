//! Diesel table definitions, shared by both backends (column types every backend has).

diesel::table! {
    resources (seq) {
        seq -> BigInt,
        res_type -> Text,
        res_id -> Text,
        version_id -> BigInt,
        last_updated -> Text,
        deleted -> Bool,
        content -> Binary,
    }
}

diesel::table! {
    resource_history (hseq) {
        hseq -> BigInt,
        res_type -> Text,
        res_id -> Text,
        version_id -> BigInt,
        last_updated -> Text,
        deleted -> Bool,
        method -> Text,
        content -> Binary,
    }
}

diesel::table! {
    compartment (res_seq, patient_id) {
        res_seq -> BigInt,
        patient_id -> Text,
    }
}

diesel::table! {
    history_compartment (hseq, patient_id) {
        hseq -> BigInt,
        patient_id -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_pem -> Text,
        public_jwk -> Text,
        created_at -> Text,
        retire_at -> Nullable<BigInt>,
        signed_until -> BigInt,
    }
}

diesel::table! {
    server_meta (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(resources, resource_history, compartment, history_compartment);

diesel::table! {
    idx_string (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        value -> Text,
        norm -> Text,
    }
}

diesel::table! {
    idx_token (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        system -> Nullable<Text>,
        code -> Nullable<Text>,
        text -> Nullable<Text>,
    }
}

diesel::table! {
    idx_date (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        low -> BigInt,
        high -> BigInt,
    }
}

diesel::table! {
    idx_reference (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        url -> Text,
    }
}

diesel::table! {
    idx_quantity (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        value -> Text,
        num -> Double,
        system -> Nullable<Text>,
        code -> Nullable<Text>,
        unit -> Nullable<Text>,
    }
}

diesel::table! {
    idx_number (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        value -> Text,
        num -> Double,
    }
}

diesel::table! {
    idx_uri (rowid) {
        rowid -> BigInt,
        res_seq -> BigInt,
        res_type -> Text,
        param -> Text,
        value -> Text,
    }
}
