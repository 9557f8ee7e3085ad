"""Real model weights without a hub: fetch known GGUF files, import GGUF into safetensors folders."""
