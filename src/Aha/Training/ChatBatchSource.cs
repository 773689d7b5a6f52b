using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Data;
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

    /// <summary>Rows already encoded: ids and which of them are completion tokens (e.g. a plain-text prompt and its completion, as <c>aha compare</c>'s SFT route builds them).</summary>
    public ChatBatchSource(IEnumerable<(int[] Ids, bool[] IsCompletion)> rows, int padId, int batchSize, int maxLength, long seed)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "sequence length must be at least 2.");
        _rows = rows.Select(r => (Ids: r.Ids.Take(maxLength + 1).ToArray(), Scored: r.IsCompletion.Take(maxLength + 1).ToArray())).ToList();
        if (_rows.Count == 0) throw new ArgumentException("the SFT data has no conversations; give at least one row.");
        (_batchSize, _seed, _pad) = (batchSize, seed, padId);
        _order = Order(0);
    }

    /// <summary>Conversations per epoch.</summary>
    public int Count => _rows.Count;

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
