mod arch;
