"""End-to-end: the rendered llama-server serving Gemma 3 270M behind the rendered auth proxy."""
