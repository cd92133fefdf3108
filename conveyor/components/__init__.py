"""Standard components. Each folder holds component.py (the declaration, cheap to import) and
executor.py (the work, which may import TensorFlow, TFDV, TFMA or Beam)."""
