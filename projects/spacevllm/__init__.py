"""SpaceVLLM as a plugin of mmstvg; the modules live in :mod:`.spacevllm`."""
