using Aha.Generation;
using Aha.Model;
using Aha.Remote;
using Aha.Tasks;
using Aha.Tokenizer;

namespace Aha.Distillation;

/// <summary>One trace to ask for: sample <paramref name="Sample"/> of problem <paramref name="Problem"/> (its index in the run's problem list).</summary>
public sealed record TraceRequest(int Problem, int Sample, TaskItem Item);

/// <summary>What the teacher wrote: the completion as the student will learn it, the reasoning apart when the teacher gave it so, and what it cost.</summary>
public sealed record TeacherReply(string Completion, string? Reasoning, int Tokens, string FinishReason);

/// <summary>A model that writes reasoning traces for distillation: a checkpoint in this process, or a server over HTTP.</summary>
public interface ITeacher
{
    /// <summary>What the teacher is (a folder, or a URL and model), recorded with the traces so a rerun cannot mix two teachers.</summary>
    string Name { get; }

    /// <summary>
    /// Asks for every request and hands each reply to <paramref name="onReply"/> as soon as it is there (possibly from
    /// several threads at once). The first request that fails ends the call with its error; replies handed over before it stay handed over.
    /// </summary>
    Task GenerateAsync(IReadOnlyList<TraceRequest> requests, Action<TraceRequest, TeacherReply> onReply, CancellationToken cancel = default);
}

/// <summary>A teacher in this process: an Aha or Hugging Face checkpoint decoding through the batched <see cref="Engine"/>, in the student's prompt style.</summary>
public sealed class ModelTeacher(LlamaModel model, ITokenizer tokenizer, ITask task, DistillOptions options, string name) : ITeacher
{
    public string Name { get; } = name;

    public Task GenerateAsync(IReadOnlyList<TraceRequest> requests, Action<TraceRequest, TeacherReply> onReply, CancellationToken cancel = default)
    {
        if (requests.Count == 0) return Task.CompletedTask;
        var engine = new Engine(model);
        model.eval();
        foreach (var batch in requests.Chunk(options.BatchPrompts * options.Samples))
        {
            cancel.ThrowIfCancellationRequested();
            var specs = batch.Select(r => PromptSpec.For(tokenizer, task, r.Item, options.PromptStyle)).ToList();
            var outputs = engine.Generate(
                batch.Select((r, i) => new GenerationRequest(specs[i].Ids, PromptSpec.SampleSeed(options.Seed, 0, r.Problem, r.Sample))).ToList(),
                new SamplingOptions { Temperature = options.Temperature, TopP = options.TopP, MaxNewTokens = options.MaxCompletionTokens, StopTokenIds = specs[0].StopIds },
                StopStrings.After(tokenizer, specs[0].StopStrings));
            for (int i = 0; i < batch.Length; i++)
            {
                string text = tokenizer.Decode(outputs[i].TokenIds, skipSpecialTokens: true);
                onReply(batch[i], new TeacherReply(text, null, outputs[i].TokenIds.Count, outputs[i].Truncated ? "length" : "stop"));
            }
        }
        return Task.CompletedTask;
    }
}

/// <summary>
/// A teacher behind any OpenAI-compatible endpoint (vLLM, llama.cpp's server, Ollama, DeepSeek's API, <c>aha serve</c>):
/// one chat request per trace, at most the endpoint's concurrency limit in flight. The reasoning comes from
/// <c>reasoning_content</c> (or the <c>&lt;think&gt;</c> block) and is put back in front of the answer inside
/// <c>&lt;think&gt;…&lt;/think&gt;</c>, the form the student learns.
/// </summary>
public sealed class EndpointTeacher(ChatEndpoint endpoint, DistillOptions options) : ITeacher
{
    public string Name => $"{endpoint.Options.BaseUrl} ({endpoint.Options.Model})";

    public async Task GenerateAsync(IReadOnlyList<TraceRequest> requests, Action<TraceRequest, TeacherReply> onReply, CancellationToken cancel = default)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = endpoint.Options.MaxConcurrency, CancellationToken = cancel };
        await Parallel.ForEachAsync(requests, parallel, async (request, token) =>
        {
            IReadOnlyList<ChatMessage> messages = options.SystemMessage ? Prompts.Messages(request.Item.Prompt) : [new ChatMessage("user", request.Item.Prompt)];
            var call = new ChatCall(options.MaxCompletionTokens, options.Temperature, PromptSpec.SampleSeed(options.Seed, 0, request.Problem, request.Sample));
            var reply = await endpoint.CompleteAsync(messages, call, token);
            string completion = reply.Reasoning is null ? reply.Content : $"<think>{reply.Reasoning}</think>{reply.Content}";
            onReply(request, new TeacherReply(completion, reply.Reasoning, reply.CompletionTokens, reply.FinishReason));
        });
    }
}
