DROP TABLE history_compartment;
