//! Diesel tables of the authorization server (migration `2026-11-26-000003_smart`).

diesel::table! {
    auth_users (username) {
        username -> Text,
        password_hash -> Text,
        fhir_user -> Text,
        created_at -> BigInt,
        disabled -> Bool,
    }
}

diesel::table! {
    oauth_clients (client_id) {
        client_id -> Text,
        name -> Text,
        client_type -> Text,
        secret_hash -> Nullable<Text>,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        redirect_uris -> Text,
        scope -> Text,
        created_at -> BigInt,
        access_term -> Text,
    }
}

diesel::table! {
    auth_requests (request_hash) {
        request_hash -> Text,
        session_hash -> Text,
        csrf -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        state -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        launch_hash -> Nullable<Text>,
        username -> Nullable<Text>,
        fhir_user -> Nullable<Text>,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::table! {
    auth_grants (grant_id) {
        grant_id -> Text,
        client_id -> Text,
        username -> Nullable<Text>,
        fhir_user -> Nullable<Text>,
        scope -> Text,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        context -> Text,
        nonce -> Nullable<Text>,
        revoked -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        used -> Bool,
        expires_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        grant_id -> Text,
        client_id -> Text,
        scope -> Text,
        used -> Bool,
        expires_at -> BigInt,
    }
}

diesel::table! {
    launch_contexts (launch_hash) {
        launch_hash -> Text,
        patient -> Nullable<Text>,
        encounter -> Nullable<Text>,
        fhir_user -> Nullable<Text>,
        intent -> Nullable<Text>,
        need_patient_banner -> Bool,
        smart_style_url -> Nullable<Text>,
        created_by -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    client_assertion_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    user_sessions (session_hash) {
        session_hash -> Text,
        csrf -> Text,
        username -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(auth_grants, oauth_clients, auth_codes);
diesel::joinable!(auth_grants -> oauth_clients (client_id));

diesel::table! {
    login_failures (username) {
        username -> Text,
        failures -> BigInt,
        window_start -> BigInt,
        locked_until -> BigInt,
    }
}
