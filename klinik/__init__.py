"""Klinik Koperasi: the console command and the one typed settings object."""
