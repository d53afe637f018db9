"""The measuring wing: how labctl times, checks and loads a running server.

``probe`` (libcurl timing), ``sampling`` (interleaved latency series), ``stats``, ``verify`` (the
functional checks), ``rawhttp`` (requests byte by byte), ``modes`` (the two connection modes),
``clients`` (where the measuring client runs, chosen in one place), ``agent`` (the same probe run
inside a container next to the servers) and ``loadgen/`` (wrk, oha, the built-in client).
Nothing here prints, and nothing here starts servers: that is ``labctl.runtime``'s job.
"""
