using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Data;
using Aha.Tokenizer;

namespace Aha.Training;

/// <summary>Pretraining batches: documents packed back to back by <see cref="PackedTokenStream"/>, every target scored.</summary>
public sealed class PackedBatchSource : IBatchSource
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    readonly PackedTokenStream _stream;
    IEnumerator<TokenBatch> _batches;
    PackingPosition _position = PackingPosition.Start;

    /// <param name="documents">Re-enumerable documents; enumerated again from the start on <see cref="Seek"/>.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    public PackedBatchSource(ITokenizer tokenizer, IEnumerable<string> documents, int batchSize, int sequenceLength, long seed)
    {
        _stream = new PackedTokenStream(tokenizer, documents, batchSize, sequenceLength, seed);
        _batches = _stream.Batches().GetEnumerator();
    }

    public JsonNode Position => JsonSerializer.SerializeToNode(_position, Json)!;

    public void Seek(JsonNode position)
    {
        _position = position.Deserialize<PackingPosition>(Json)
            ?? throw new InvalidDataException("trainer_state.json: data_position is empty; expected {epoch, document, token}.");
        _batches.Dispose();
        _batches = _stream.Batches(_position).GetEnumerator();
    }

    public TrainingBatch Next()
    {
        if (!_batches.MoveNext()) throw new InvalidOperationException("the packed token stream ended; it repeats its documents, so the source produced no tokens.");
        var batch = _batches.Current;
        _position = batch.Next;
        int b = batch.BatchSize, t = batch.Width - 1;
        var inputs = new long[b * t];
        var targets = new long[b * t];
        for (int row = 0; row < b; row++)
        {
            var ids = batch.Row(row);                      // T+1 ids: inputs 0..T-1, targets 1..T
            ids[..t].CopyTo(inputs.AsSpan(row * t, t));
            ids[1..].CopyTo(targets.AsSpan(row * t, t));
        }
        return new TrainingBatch(inputs, targets, Enumerable.Repeat(true, b * t).ToArray(), b, t);
    }
}
