-- Patient compartment membership of every stored version (a deletion keeps the compartment of the
-- version it deleted), so history and vread check each version on its own content. Filled at write
-- time; `bedside reindex` (run automatically at start-up when the compartment rules change) fills it
-- for versions written before this table existed.
CREATE TABLE history_compartment (
    hseq BIGINT NOT NULL REFERENCES resource_history (hseq) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (hseq, patient_id)
);
CREATE INDEX history_compartment_patient ON history_compartment (patient_id, hseq);
