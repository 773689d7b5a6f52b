using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Data;
using Aha.Tasks;
using Aha.Tokenizer;

namespace Aha.Training;

/// <summary>
/// SFT batches: conversations rendered by the model's <see cref="ITokenizer.EncodeChatForTraining"/>, shuffled per epoch from the
/// seed, right-padded to the longest row of each batch (at most T) and scored on completion tokens only.
/// </summary>
/// <remarks>Right padding needs no attention mask: causal attention never lets a real token see the pads after it.</remarks>
public sealed class ChatBatchSource : IBatchSource
{
    /// <summary>Where an SFT source continues: the next row of epoch <paramref name="Epoch"/>'s shuffled order.</summary>
    public sealed record ChatPosition(long Epoch, int Row);

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    readonly List<(int[] Ids, bool[] Scored)> _rows;
    readonly int _batchSize;
    readonly long _seed;
    readonly int _pad;
    int[] _order;
    ChatPosition _position = new(0, 0);

    /// <param name="conversations">Each must contain an assistant message; rows longer than <paramref name="maxLength"/> + 1 tokens are truncated.</param>
    /// <param name="tokenizer">The model's tokenizer: its chat template and padding id.</param>
    public ChatBatchSource(ITokenizer tokenizer, IEnumerable<IReadOnlyList<ChatMessage>> conversations, int batchSize, int maxLength, long seed)
        : this(conversations.Select((tokenizer ?? throw new ArgumentNullException(nameof(tokenizer))).EncodeChatForTraining), tokenizer.PadId, batchSize, maxLength, seed)
    {
    }

    /// <summary>
    /// Rows already encoded, each with its per-id completion mask (e.g. a plain-text prompt followed by its completion,
    /// as <c>aha distill</c> trains a student in the task's prompt style); rows longer than <paramref name="maxLength"/> + 1 ids are truncated.
    /// </summary>
    public ChatBatchSource(IEnumerable<(int[] Ids, bool[] IsCompletion)> rows, int padId, int batchSize, int maxLength, long seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "sequence length must be at least 2.");
        _rows = rows.Select(r => (Ids: r.Ids.Take(maxLength + 1).ToArray(), Scored: r.IsCompletion.Take(maxLength + 1).ToArray())).ToList();
        if (_rows.Count == 0) throw new ArgumentException("the SFT data has no conversations; give at least one row.");
        (_batchSize, _seed, _pad) = (batchSize, seed, padId);
        _order = Order(0);
    }

    /// <summary>
    /// Plain-text prompt-completion rows (TRL's non-conversational form): the prompt's ids, then the completion's, scored on
    /// the completion only; rows longer than <paramref name="maxLength"/> + 1 lose the prompt's start.
    /// </summary>
    public static ChatBatchSource PromptCompletion(ITokenizer tokenizer, IEnumerable<(int[] Prompt, int[] Completion)> rows, int batchSize, int maxLength, long seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "sequence length must be at least 2.");
        var kept = rows.Select(r =>
        {
            int[] ids = [.. r.Prompt, .. r.Completion];
            bool[] scored = [.. r.Prompt.Select(_ => false), .. r.Completion.Select(_ => true)];
            int skip = Math.Max(0, ids.Length - (maxLength + 1));
            return (ids[skip..], scored[skip..]);
        });
        return new ChatBatchSource(kept, tokenizer.PadId, batchSize, maxLength, seed);
    }

    /// <summary>
    /// One SFT row in the prompt template RL and evaluation use (<see cref="PromptSpec.For"/>), scored on the completion only:
    /// text templates are the prompt's ids, then the completion's and EOS; the chat template renders the assistant turn itself.
    /// </summary>
    public static (int[] Ids, bool[] IsCompletion) Encode(ITokenizer tokenizer, ITask task, TaskItem item, string completion, PromptStyle style)
    {
        if (style == PromptStyle.Chat) return tokenizer.EncodeChatForTraining([.. Prompts.Messages(item.Prompt), new ChatMessage("assistant", completion)]);
        var prompt = PromptSpec.For(tokenizer, task, item, style).Ids;
        int[] text = tokenizer.Encode(completion, addSpecialTokens: false);
        int[] answer = tokenizer.EosId is { } eos ? [.. text, eos] : text;
        return ([.. prompt, .. answer], [.. Enumerable.Repeat(false, prompt.Length), .. Enumerable.Repeat(true, answer.Length)]);
    }

    /// <summary>Conversations per epoch.</summary>
    public int Count => _rows.Count;

    /// <summary>Mean ids per row as trained (after truncation), input and target sides together: the compute one row costs.</summary>
    public double MeanRowLength => _rows.Average(r => (double)r.Ids.Length);

    public JsonNode Position => JsonSerializer.SerializeToNode(_position, Json)!;

    public void Seek(JsonNode position)
    {
        _position = position.Deserialize<ChatPosition>(Json)
            ?? throw new InvalidDataException("trainer_state.json: data_position is empty; expected {epoch, row}.");
        _order = Order(_position.Epoch);
    }

    public TrainingBatch Next()
    {
        var picked = new List<(int[] Ids, bool[] Scored)>(_batchSize);
        while (picked.Count < _batchSize)
        {
            if (_position.Row >= _rows.Count) { _position = new(_position.Epoch + 1, 0); _order = Order(_position.Epoch); }
            picked.Add(_rows[_order[_position.Row]]);
            _position = _position with { Row = _position.Row + 1 };
        }
        int t = Math.Max(1, picked.Max(r => r.Ids.Length) - 1);
        var inputs = new long[_batchSize * t];
        var targets = new long[_batchSize * t];
        var scored = new bool[_batchSize * t];
        Array.Fill(inputs, _pad);
        Array.Fill(targets, _pad);
        for (int b = 0; b < _batchSize; b++)
        {
            var (ids, mask) = picked[b];
            for (int i = 0; i + 1 < ids.Length; i++)
            {
                inputs[b * t + i] = ids[i];
                targets[b * t + i] = ids[i + 1];
                scored[b * t + i] = mask[i + 1]; // the mask belongs to the token being predicted
            }
        }
        return new TrainingBatch(inputs, targets, scored, _batchSize, t);
    }

    int[] Order(long epoch)
    {
        var order = Enumerable.Range(0, _rows.Count).ToArray();
        ulong state = unchecked((ulong)(_seed + epoch * 1_000_003));
        for (int i = order.Length - 1; i > 0; i--) // Fisher–Yates with SplitMix64: the same order in every process and .NET version
        {
            int j = Mix.Below(ref state, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
