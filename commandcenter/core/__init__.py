"""The pure-Python domain core: no Qt, no SQL, no sockets; time comes from an injected clock."""
