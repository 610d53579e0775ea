"""The command line of certificates: `vaxlink certificates …` and `vaxlink keys …`."""
