using System.Runtime.CompilerServices;
using Aha.Checkpoints;
using Aha.Generation;
using Aha.Model;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Serving;

/// <summary>How one completion is drawn, in the words of the OpenAI API.</summary>
public sealed record TextSettings
{
    public int MaxTokens { get; init; } = 256;
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; }
    /// <summary>The row's generator seed (choice i of a request uses seed + i).</summary>
    public long Seed { get; init; }
    /// <summary>Texts that end the completion; the stop text itself is not returned (OpenAI's rule).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Most likely alternatives carried with each token (OpenAI's <c>top_logprobs</c>, 0–20).</summary>
    public int TopLogProbs { get; init; }
}

/// <summary>
/// A piece of streamed text: the part inside the think block and the answer part (either may be empty), and the tokens
/// read since the previous piece (stop tokens left out) with their log-probabilities.
/// </summary>
public readonly record struct TextDelta(string Reasoning, string Content, IReadOnlyList<GeneratedToken> Tokens);

/// <summary>How a completion ended and what it cost; <see cref="Tokens"/> are every token behind the text, stop tokens left out.</summary>
public sealed record TextOutcome(FinishReason Finish, int PromptTokens, int CompletionTokens, IReadOnlyList<GeneratedToken> Tokens);

/// <summary>
/// A loaded checkpoint served to many callers at once: model, tokenizer and one <see cref="ContinuousBatcher"/> that every
/// request (HTTP or <see cref="AhaChatClient"/>) goes through. Text in, text out: prompts are rendered with the checkpoint's
/// own chat template, stop ids come from the tokenizer, reasoning is split from the answer.
/// </summary>
public sealed class ServedModel : IDisposable
{
    readonly LlamaModel _model;

    /// <param name="id">the name clients pass as <c>model</c></param>
    public ServedModel(LlamaModel model, ITokenizer tokenizer, string id, int maxBatch = 32, int maxQueue = 256)
    {
        (_model, Tokenizer, Id) = (model, tokenizer, id);
        model.eval();
        Batcher = new ContinuousBatcher(new Engine(model), maxBatch, maxQueue);
    }

    /// <summary>Loads a checkpoint (or a run folder's latest) and an optional LoRA adapter on top; the model id is the folder's name.</summary>
    public static ServedModel Load(string modelDir, string? adapterDir = null, Device? device = null, ScalarType dtype = ScalarType.Float32, int maxBatch = 32, int maxQueue = 256)
    {
        var (model, checkpoint) = ModelLoader.OpenAndLoad(modelDir, device, dtype);
        if (adapterDir is not null) AdapterCheckpoint.Open(adapterDir).AttachTo(model);
        string id = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(adapterDir ?? modelDir)));
        return new ServedModel(model, checkpoint.Tokenizer, id, maxBatch, maxQueue);
    }

    public string Id { get; }
    public LlamaModel Model => _model;
    public ITokenizer Tokenizer { get; }
    public ContinuousBatcher Batcher { get; }
    public int ContextLength => Batcher.ContextLength;

    /// <summary>A conversation's prompt ids and whether the template already opened a think block.</summary>
    public (int[] Ids, bool ThinkingOpen) EncodeChat(IReadOnlyList<ChatMessage> messages)
    {
        var ids = Tokenizer.EncodeChat(messages);
        return (ids, ReasoningSplitter.PromptOpensThinking(Tokenizer.RenderChat(messages)));
    }

    /// <summary>A plain prompt's ids as <c>tokenizer(prompt)</c> gives them (BOS where the tokenizer adds one).</summary>
    public int[] EncodeText(string prompt) => Tokenizer.Encode(prompt, addSpecialTokens: true);

    /// <summary>
    /// Queues one completion (throws <see cref="ArgumentException"/> for settings that cannot run, <see cref="QueueFullException"/>
    /// when the queue is full) and returns its text as it is generated.
    /// </summary>
    /// <param name="chat">a chat turn stops at end of turn as well as end of text, and its reasoning is split from its answer</param>
    /// <param name="thinkingOpen">the prompt already opened a think block (see <see cref="EncodeChat"/>)</param>
    public TextCompletion Start(int[] promptIds, TextSettings settings, bool chat, bool thinkingOpen, CancellationToken cancel)
    {
        var options = new SamplingOptions
        {
            Temperature = settings.Temperature, TopP = settings.TopP, TopK = settings.TopK, MaxNewTokens = settings.MaxTokens,
            StopTokenIds = chat ? Tokenizer.StopIds : Tokenizer.EosId is { } eos ? [eos] : [], TopLogProbs = settings.TopLogProbs,
        };
        var stop = settings.Stop.Count > 0 ? StopStrings.After(Tokenizer, settings.Stop) : null;
        var stream = Batcher.Submit(new GenerationRequest(promptIds, settings.Seed), options, stop, cancel);
        return new TextCompletion(this, stream, settings.Stop, options.StopTokenIds, chat ? new ReasoningSplitter(thinkingOpen) : null, cancel);
    }

    public void Dispose()
    {
        Batcher.Dispose();
        _model.Dispose();
    }
}

/// <summary>
/// One running completion as text: <see cref="ReadAsync"/> yields reasoning and answer deltas (a possibly incomplete UTF-8
/// character, a partial think tag and anything that may still turn out to be a stop string are held back), then
/// <see cref="Outcome"/> says how it ended.
/// </summary>
public sealed class TextCompletion
{
    readonly ServedModel _served;
    readonly GenerationStream _stream;
    readonly IReadOnlyList<string> _stops;
    readonly IReadOnlyList<int> _stopIds;
    readonly ReasoningSplitter? _splitter; // null: plain text, all of it content
    readonly CancellationToken _cancel;

    internal TextCompletion(ServedModel served, GenerationStream stream, IReadOnlyList<string> stops, IReadOnlyList<int> stopIds, ReasoningSplitter? splitter, CancellationToken cancel)
    {
        (_served, _stream, _stops, _stopIds, _splitter, _cancel) = (served, stream, stops, stopIds, splitter, cancel);
    }

    public int PromptTokens => _stream.PromptTokens;

    /// <summary>Set once <see cref="ReadAsync"/> has finished.</summary>
    public TextOutcome? Outcome { get; private set; }

    public async IAsyncEnumerable<TextDelta> ReadAsync([EnumeratorCancellation] CancellationToken cancel = default)
    {
        var ids = new List<int>();
        var all = new List<GeneratedToken>();
        int delivered = 0; // tokens of `all` already attached to a delta
        // The token that completes a stop string arrives before the stop is known: hold back the longest stop's length.
        int emitted = 0, holdBack = _stops.Count == 0 ? 0 : _stops.Max(s => s.Length);
        var tokenizer = _served.Tokenizer;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, _cancel);
        IReadOnlyList<GeneratedToken> Fresh()
        {
            var fresh = all.GetRange(delivered, all.Count - delivered);
            delivered = all.Count;
            return fresh;
        }
        await foreach (var token in _stream.Tokens.ReadAllAsync(linked.Token))
        {
            ids.Add(token.Id);
            if (!_stopIds.Contains(token.Id)) all.Add(token);
            // Decoding the whole completion each time keeps multi-token characters right; completions are short here.
            string text = tokenizer.Decode(ids, skipSpecialTokens: true);
            int ready = text.Length - holdBack;
            if (text.EndsWith('\uFFFD')) ready = Math.Min(ready, text.Length - 1); // maybe a character cut between tokens
            if (ready > emitted)
            {
                var (reasoning, content) = Split(text[emitted..ready]);
                emitted = ready;
                if (reasoning.Length + content.Length > 0) yield return new TextDelta(reasoning, content, Fresh());
            }
        }
        var completion = await _stream.Completion;
        string final = tokenizer.Decode(completion.TokenIds, skipSpecialTokens: true);
        if (completion.Finish == FinishReason.Stop)
            foreach (var stop in _stops)
                if (final.EndsWith(stop, StringComparison.Ordinal)) { final = final[..^stop.Length]; break; }
        if (final.Length > emitted)
        {
            var (reasoning, content) = Split(final[emitted..]);
            if (reasoning.Length + content.Length > 0) yield return new TextDelta(reasoning, content, Fresh());
        }
        var (r, c) = _splitter?.Flush() ?? ("", "");
        if (r.Length + c.Length > 0 || delivered < all.Count) yield return new TextDelta(r, c, Fresh());
        Outcome = new TextOutcome(completion.Finish, _stream.PromptTokens, completion.TokenIds.Count, all);
    }

    (string Reasoning, string Content) Split(string text) => _splitter?.Push(text) ?? ("", text);

    /// <summary>The whole completion: reasoning (null when the model wrote no think block), answer and outcome.</summary>
    public async Task<(string? Reasoning, string Content, TextOutcome Outcome)> ReadAllAsync(CancellationToken cancel = default)
    {
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        bool thought = false;
        await foreach (var delta in ReadAsync(cancel))
        {
            reasoning.Append(delta.Reasoning);
            content.Append(delta.Content);
            thought |= delta.Reasoning.Length > 0;
        }
        return (thought ? reasoning.ToString() : null, content.ToString(), Outcome!);
    }
}
