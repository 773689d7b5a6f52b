using Aha.Tokenizer;

namespace Aha.Data;

/// <summary>
/// Pretraining batches: documents become <c>BOS tokens EOS</c> (BOS only when the tokenizer has one; for the byte
/// tokenizer <c>&lt;|bos|&gt; bytes &lt;|eos|&gt;</c>), are concatenated and cut into
/// (B, T+1) rows. Deterministic from the seed; <see cref="Batches"/> can start from any saved
/// <see cref="PackingPosition"/> and then yields exactly what an uninterrupted stream would.
/// </summary>
/// <remarks>
/// Documents are shuffled within consecutive windows of <c>shuffleWindow</c> documents, a fresh permutation per
/// (epoch, window), so an infinite or file-backed source needs only one window in memory. Resuming re-enumerates
/// the source up to the saved document without tokenizing what it skips.
/// </remarks>
public sealed class PackedTokenStream
{
    readonly IEnumerable<string> _documents;
    readonly ITokenizer _tokenizer;
    readonly int? _bos;
    readonly int _eos;
    readonly long _seed;
    readonly int _window;
    readonly bool _repeat;

    /// <param name="tokenizer">The model's tokenizer; it must have an end-of-text token, which marks where a document ends.</param>
    /// <param name="documents">Re-enumerable documents (e.g. <see cref="JsonlReader.ReadTexts"/> or a generator); may be infinite.</param>
    /// <param name="batchSize">Rows per batch, B.</param>
    /// <param name="sequenceLength">Inputs per row, T (rows hold T+1 ids).</param>
    /// <param name="seed">Seed of the document order.</param>
    /// <param name="shuffleWindow">Documents shuffled together; 1 keeps the source order.</param>
    /// <param name="repeat">Start a new epoch (new order) when a finite source ends; otherwise stop at the last full batch.</param>
    public PackedTokenStream(ITokenizer tokenizer, IEnumerable<string> documents, int batchSize, int sequenceLength, long seed, int shuffleWindow = 1024, bool repeat = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(documents);
        _eos = tokenizer.EosId ?? throw new ArgumentException("the tokenizer has no end-of-text token (eos_token), so packed documents could not be told apart; set eos_token in tokenizer_config.json.", nameof(tokenizer));
        (_tokenizer, _bos) = (tokenizer, tokenizer.BosId);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        if (sequenceLength <= 0) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "sequence length must be positive.");
        if (shuffleWindow <= 0) throw new ArgumentOutOfRangeException(nameof(shuffleWindow), shuffleWindow, "shuffle window must be positive (1 = no shuffle).");
        (_documents, BatchSize, SequenceLength, _seed, _window, _repeat) = (documents, batchSize, sequenceLength, seed, shuffleWindow, repeat);
    }

    /// <summary>Rows per batch, B.</summary>
    public int BatchSize { get; }
    /// <summary>Inputs per row, T.</summary>
    public int SequenceLength { get; }

    /// <summary>Batches from <paramref name="from"/> (default: the start); each carries the position after it.</summary>
    public IEnumerable<TokenBatch> Batches(PackingPosition? from = null)
    {
        var position = from ?? PackingPosition.Start;
        if (position.Epoch < 0 || position.Document < 0 || position.Token < 0)
            throw new ArgumentOutOfRangeException(nameof(from), position, "a packing position has no negative parts.");
        int width = SequenceLength + 1;
        // Rows overlap by one token (the carry). At the very start there is none; at a document boundary it is the
        // EOS that ended the previous document; inside a document it is the token before the position, re-read.
        bool inside = position.Token > 0;
        using var tokens = Tokens(inside ? position with { Token = position.Token - 1 } : position).GetEnumerator();
        long? carry = position == PackingPosition.Start ? null : _eos;
        if (inside)
        {
            if (!tokens.MoveNext()) yield break;
            carry = tokens.Current.Id;
        }
        while (true)
        {
            var batch = new long[BatchSize * width];
            PackingPosition next = position;
            for (int b = 0; b < BatchSize; b++)
            {
                int k = b * width;
                if (carry is { } c) batch[k++] = c;
                for (; k < (b + 1) * width; k++)
                {
                    if (!tokens.MoveNext()) yield break; // a finite source without repeat: drop the partial batch
                    batch[k] = tokens.Current.Id;
                    next = tokens.Current.After;
                }
                carry = batch[(b + 1) * width - 1];
            }
            yield return new TokenBatch(batch, BatchSize, width, next);
        }
    }

    /// <summary>Every token from <paramref name="start"/> on, each with the position after it.</summary>
    IEnumerable<(long Id, PackingPosition After)> Tokens(PackingPosition start)
    {
        long epoch = start.Epoch, document = start.Document;
        int skipTokens = start.Token;
        while (true)
        {
            bool any = false;
            foreach (var (index, text) in Documents(epoch, document))
            {
                any = true;
                int[] ids = _tokenizer.Encode(text);
                int first = _bos is null ? 0 : 1, length = ids.Length + first + 1;
                for (int t = skipTokens; t < length; t++)
                {
                    long id = t < first ? _bos!.Value : t == length - 1 ? _eos : ids[t - first];
                    yield return (id, t + 1 < length ? new PackingPosition(epoch, index, t + 1) : new PackingPosition(epoch, index + 1, 0));
                }
                skipTokens = 0;
            }
            if (!_repeat) yield break;
            if (!any && document == 0)
                throw new InvalidOperationException("the document source is empty (an epoch produced no documents); give the stream at least one document.");
            epoch++;
            document = 0;
            skipTokens = 0;
        }
    }

    /// <summary>Documents of <paramref name="epoch"/> in shuffled order from index <paramref name="from"/>, with their indices.</summary>
    IEnumerable<(long Index, string Text)> Documents(long epoch, long from)
    {
        long skipWindows = from / _window;
        long index = skipWindows * _window;
        var window = new List<string>(_window);
        using var source = _documents.GetEnumerator();
        for (long skipped = 0; skipped < skipWindows * _window; skipped++)
            if (!source.MoveNext()) yield break; // the position is past the end of this epoch
        for (long w = skipWindows; ; w++)
        {
            window.Clear();
            while (window.Count < _window && source.MoveNext()) window.Add(source.Current);
            if (window.Count == 0) yield break;
            var order = Permutation(window.Count, epoch, w);
            for (int i = 0; i < order.Length; i++, index++)
                if (index >= from) yield return (index, window[order[i]]);
            if (window.Count < _window) yield break;
        }
    }

    int[] Permutation(int n, long epoch, long window)
    {
        var order = Enumerable.Range(0, n).ToArray();
        if (_window == 1) return order;
        ulong state = unchecked((ulong)(_seed + epoch * 1_000_003 + window * 1_009));
        for (int i = n - 1; i > 0; i--) // Fisher–Yates
        {
            int j = Mix.Below(ref state, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
