using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using AhaMessage = Aha.Tokenizer.ChatMessage;
using FinishReason = Aha.Generation.FinishReason;

namespace Aha.Serving;

/// <summary>
/// A <c>Microsoft.Extensions.AI</c> <see cref="IChatClient"/> over a model loaded in this process. Requests go through the
/// same <see cref="ServedModel"/> (and continuous batcher) as <c>aha serve</c>, so concurrent calls are safe and batched, and
/// a call gives the text the server gives for the same settings and seed. The think block comes back as
/// <see cref="TextReasoningContent"/>, the answer as <see cref="TextContent"/>.
/// </summary>
public sealed class AhaChatClient(ServedModel served, bool ownsModel = false) : IChatClient
{
    readonly ChatClientMetadata _metadata = new("aha", defaultModelId: served.Id);

    /// <summary>Loads a checkpoint folder (and optional LoRA adapter) into a client that owns it; prepares libtorch first (all cores).</summary>
    public static AhaChatClient Load(string modelDir, string? adapterDir = null, int maxBatch = 32)
    {
        Aha.Runtime.TorchRuntime.Initialize(); // an application's first torch call may be this one
        return new(ServedModel.Load(modelDir, adapterDir, maxBatch: maxBatch), ownsModel: true);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var completion = Start(messages, options, cancellationToken);
        var (reasoning, content, outcome) = await completion.ReadAllAsync(cancellationToken);
        var contents = new List<AIContent>();
        if (reasoning is not null) contents.Add(new TextReasoningContent(reasoning));
        contents.Add(new TextContent(content));
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            ModelId = served.Id, FinishReason = Finish(outcome.Finish), Usage = Usage(outcome), CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var completion = Start(messages, options, cancellationToken);
        string responseId = Guid.NewGuid().ToString("N");
        await foreach (var delta in completion.ReadAsync(cancellationToken))
        {
            var contents = new List<AIContent>();
            if (delta.Reasoning.Length > 0) contents.Add(new TextReasoningContent(delta.Reasoning));
            if (delta.Content.Length > 0) contents.Add(new TextContent(delta.Content));
            if (contents.Count == 0) continue; // tokens that added no text yet (held back, or a stop string's)
            yield return new ChatResponseUpdate(ChatRole.Assistant, contents) { ModelId = served.Id, ResponseId = responseId };
        }
        var outcome = completion.Outcome!;
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(outcome))])
        {
            ModelId = served.Id, ResponseId = responseId, FinishReason = Finish(outcome.Finish),
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(ServedModel) ? served
        : null;

    public void Dispose()
    {
        if (ownsModel) served.Dispose();
    }

    TextCompletion Start(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancel)
    {
        if (options?.ModelId is { } model && model != served.Id)
            throw new ArgumentException($"this client serves '{served.Id}', not '{model}'.", nameof(options));
        var conversation = messages.Select(m => new AhaMessage(m.Role.Value == "developer" ? "system" : m.Role.Value, m.Text)).ToList();
        var (ids, thinkingOpen) = served.EncodeChat(conversation);
        int room = served.ContextLength - ids.Length;
        if (room <= 0) throw new ArgumentException($"the prompt is {ids.Length} tokens; the model's context is {served.ContextLength}.", nameof(messages));
        int maxTokens = options?.MaxOutputTokens ?? room;
        if (maxTokens > room)
            throw new ArgumentException($"MaxOutputTokens is {maxTokens}, but the prompt ({ids.Length} tokens) leaves {room} of the {served.ContextLength}-token context.", nameof(options));
        var settings = new TextSettings
        {
            MaxTokens = maxTokens,
            Temperature = Decimal(options?.Temperature) ?? 1.0,
            TopP = Decimal(options?.TopP) ?? 1.0,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed ?? Random.Shared.NextInt64(0, long.MaxValue / 2),
            Stop = options?.StopSequences?.ToList() ?? [],
        };
        return served.Start(ids, settings, chat: true, thinkingOpen, cancel);
    }

    // 0.7f is 0.69999998 as a double; the server reads "0.7" from JSON as 0.7, and the same seed must give the same text.
    static double? Decimal(float? value) => value is { } v ? double.Parse(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : null;

    static ChatFinishReason Finish(FinishReason finish) => finish == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    static UsageDetails Usage(TextOutcome outcome) => new()
    {
        InputTokenCount = outcome.PromptTokens, OutputTokenCount = outcome.CompletionTokens, TotalTokenCount = outcome.PromptTokens + outcome.CompletionTokens,
    };
}
