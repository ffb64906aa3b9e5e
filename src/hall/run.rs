//! What `hallq run --role …` starts for the LAN. Filled in below.
