"""Activities that talk to the model.

The conversation lives in the transcript store, keyed by session, never in Temporal's history: a turn
appends the workflow's new messages (tool results) at their sequence numbers — idempotent, so a retried
attempt rewrites the same rows — loads the whole transcript, asks the model, and stores its answer.
History then grows by one bounded turn at a time, and any worker can pick the conversation up.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from coding_agent import metrics
from coding_agent.activities.heartbeat import keep_alive
from coding_agent.activities.types import PlanInput, PlanOutput, TurnInput, TurnOutput
from coding_agent.llm import prompts
from coding_agent.llm.client import LLMClient, LLMError
from coding_agent.llm.plan import PlanFormatError, generate_plan
from coding_agent.models import CodingAgentRequest, RepositoryConfig
from coding_agent.reporting.transcript_store import TranscriptStore
from coding_agent.settings import Settings
from coding_agent.tools.registry import TOOL_SCHEMAS


def _llm_failure(err: LLMError) -> ApplicationError:
    delay = timedelta(seconds=err.retry_after) if err.retry_after else None
    return ApplicationError(str(err), type="LLMError", non_retryable=not err.retryable, next_retry_delay=delay)


class LLMActivities:
    def __init__(self, settings: Settings, transcripts: TranscriptStore) -> None:
        self.settings = settings
        self.transcripts = transcripts
        self._client: LLMClient | None = None

    def client(self) -> LLMClient:
        if self._client is None:
            key = self.settings.openrouter_api_key
            if key is None:
                raise ApplicationError(
                    "OPENROUTER_API_KEY is not set on the worker: the agent cannot call a model",
                    type="ConfigurationError",
                    non_retryable=True,
                )
            self._client = LLMClient(
                self.settings.openrouter_base_url, key.get_secret_value(), timeout=self.settings.llm_timeout_seconds
            )
        return self._client

    @activity.defn
    async def generate_plan(self, data: PlanInput) -> PlanOutput:
        # The request without credentials: nothing secret goes into a prompt.
        request = CodingAgentRequest(
            agent=data.agent, task=data.task, repository=RepositoryConfig(remote_url="(workspace)")
        )
        try:
            async with keep_alive():
                plan, calls = await generate_plan(
                    self.client(),
                    data.agent.model,
                    prompts.plan_messages(request, data.overview),
                    max_tokens=self.settings.llm_max_output_tokens,
                )
        except LLMError as err:
            raise _llm_failure(err) from None
        except PlanFormatError as err:
            raise ApplicationError(
                f"the model did not return a valid plan, even after one repair request: {err}",
                type="PlanFormatError",
                non_retryable=True,
            ) from None
        metrics.llm_calls(data.agent.model, "plan", calls)
        return PlanOutput(plan=plan, llm_calls=calls, agent_messages=prompts.agent_messages(request, plan))

    @activity.defn
    async def agent_turn(self, data: TurnInput) -> TurnOutput:
        if data.new_messages:
            await self.transcripts.put(data.session_id, data.seq, data.new_messages)
        seq = data.seq + len(data.new_messages)
        messages = await self.transcripts.load(data.session_id, upto_seq=seq)
        if len(messages) != seq:
            raise ApplicationError(
                f"transcript of session {data.session_id} has {len(messages)} messages, expected {seq}",
                type="TranscriptError",
            )
        try:
            async with keep_alive():
                response = await self.client().chat(
                    data.model, messages, tools=TOOL_SCHEMAS, max_tokens=self.settings.llm_max_output_tokens
                )
        except LLMError as err:
            raise _llm_failure(err) from None
        await self.transcripts.put(data.session_id, seq, [response.assistant_message()])
        metrics.llm_calls(data.model, "turn", 1, response.prompt_tokens, response.completion_tokens)
        return TurnOutput(
            content=response.content,
            tool_calls=response.tool_calls,
            next_seq=seq + 1,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
        )

    def all(self) -> list[object]:
        return [self.generate_plan, self.agent_turn]
