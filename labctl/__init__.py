"""labctl: run, measure and compare one minimal HTTP server written in Go, Python, Rust and Node."""

__version__ = "0.1.0"
