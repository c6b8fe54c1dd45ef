"""The built-in demo: a scripted OpenAI-compatible LLM server and the tiny repository it works on."""
