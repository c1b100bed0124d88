//! Simulation of key-population surveys.
