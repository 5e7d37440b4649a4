"""Keys and signatures: C2SP keys and signed notes (pure), the key history as the
log records it, which key signs what, and private keys at rest."""
