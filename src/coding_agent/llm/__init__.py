"""The LLM service: an OpenAI-compatible client with classified errors, the prompts, and the planner."""
