using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// What attention must remember of earlier positions, for every layer of a batch of sequences, preallocated and written
/// in place so a decode step allocates nothing that outlives it. Two streams per layer: keys and values, (B, Hkv, capacity, D)
/// each, or under Multi-head Latent Attention only the normalised latent (B, 1, capacity, d_c) and the rotated RoPE key
/// shared by all heads (B, 1, capacity, d_R). All rows share one slot axis: left-padded prompts put their pads in the
/// first slots and the attention mask passed to <see cref="LlamaModel.forward"/> hides them.
/// </summary>
public sealed class KvCache : IDisposable
{
    Tensor[] _keys;   // per layer (B, Hkv, capacity, D), or the MLA latent (B, 1, capacity, d_c)
    Tensor[] _values; // per layer (B, Hkv, capacity, D), or the MLA RoPE key (B, 1, capacity, d_R)

    /// <summary>Creates an empty cache; prefer <see cref="LlamaModel.NewCache"/>, which picks device and dtype.</summary>
    public KvCache(ModelConfig config, int batch, int capacity, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "KV cache batch must be positive.");
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "KV cache capacity must be positive.");
        Capacity = capacity;
        long[] first = config.UsesMla ? [batch, 1, capacity, config.KvLoraRank!.Value] : [batch, config.NumKeyValueHeads, capacity, config.HeadDim];
        long[] second = config.UsesMla ? [batch, 1, capacity, config.QkRopeHeadDim!.Value] : first;
        // Detached so a cache built inside someone's dispose scope lives until its own Dispose.
        _keys = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => zeros(first, dtype, device).DetachFromDisposeScope()).ToArray();
        _values = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => zeros(second, dtype, device).DetachFromDisposeScope()).ToArray();
    }

    KvCache(Tensor[] keys, Tensor[] values, int capacity, int length)
    {
        (_keys, _values, Capacity, Length) = (keys, values, capacity, length);
    }

    /// <summary>Rows (sequences) held.</summary>
    public int Batch => (int)_keys[0].shape[0];

    /// <summary>Slots available per row.</summary>
    public int Capacity { get; }

    /// <summary>Bytes held per cached position across all layers: 2·Hkv·D per layer, or d_c + d_R under MLA, times the element size.</summary>
    public long BytesPerToken => _keys.Sum(k => (k.shape[1] * k.shape[3]) * k.ElementSize) + _values.Sum(v => (v.shape[1] * v.shape[3]) * v.ElementSize);

    /// <summary>Slots filled so far (the same for every row).</summary>
    public int Length { get; private set; }

    /// <summary>Forgets the contents so the buffers can serve a new batch of the same size.</summary>
    public void Reset() => Length = 0;

    /// <summary>Writes <paramref name="k"/>, <paramref name="v"/> (B, Hkv, T, D) — under MLA the latent and the RoPE key — after the filled slots and returns views of slots [0, Length + T).</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > Capacity)
            throw new InvalidOperationException($"KV cache is full: {Length} slots used + {t} new > capacity {Capacity}. Create the cache with a larger capacity (prompt + max new tokens).");
        _keys[layer].narrow(2, Length, t).copy_(k);
        _values[layer].narrow(2, Length, t).copy_(v);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Layer <paramref name="layer"/>'s whole key and value buffers (B, Hkv, capacity, D), for the fused decode path to write in place.</summary>
    internal (Tensor Keys, Tensor Values) Buffers(int layer) => (_keys[layer], _values[layer]);

    /// <summary>Marks <paramref name="tokens"/> more slots filled; called once per forward after every layer appended.</summary>
    internal void Advance(int tokens) => Length += tokens;

    /// <summary>
    /// Keeps only the given rows, in the given order (dropping finished sequences, or repeating a prompt for several samples).
    /// </summary>
    public void SelectRows(long[] rows)
    {
        using var scope = NewDisposeScope();
        var index = tensor(rows, device: _keys[0].device);
        for (int i = 0; i < _keys.Length; i++)
        {
            var (k, v) = (_keys[i].index_select(0, index), _values[i].index_select(0, index));
            _keys[i].Dispose();
            _values[i].Dispose();
            (_keys[i], _values[i]) = (k.DetachFromDisposeScope(), v.DetachFromDisposeScope());
        }
    }

    /// <summary>
    /// Continuous batching: a new cache holding rows <paramref name="keep"/> of this one without their first
    /// <paramref name="dropFront"/> slots (slots no kept row uses any more), then every row of <paramref name="joining"/>
    /// (freshly prefilled prompts). Both parts are right-aligned on the new slot axis, whose filled length is the longer of
    /// the two, so a part that is shorter gets masked slots in front: its row's first real slot moves by
    /// <c>Length − (its part's filled length)</c>. Neither input is changed; the caller disposes them.
    /// </summary>
    /// <param name="capacity">slots per row of the new cache; raised to its filled length when smaller</param>
    public KvCache Regroup(long[] keep, int dropFront, KvCache? joining, int capacity)
    {
        if (dropFront < 0 || dropFront > Length) throw new ArgumentOutOfRangeException(nameof(dropFront), dropFront, $"can drop 0..{Length} filled slots.");
        if (joining is not null && (joining._keys.Length != _keys.Length || joining._keys[0].shape[1] != _keys[0].shape[1]))
            throw new ArgumentException("the joining cache was made for a different model.", nameof(joining));
        int kept = Length - dropFront, joined = joining?.Length ?? 0, length = Math.Max(kept, joined);
        long rows = keep.Length + (joining?.Batch ?? 0);
        if (rows == 0) throw new ArgumentException("a regrouped cache needs at least one row.", nameof(keep));
        capacity = Math.Max(capacity, Math.Max(length, 1));
        var keys = new Tensor[_keys.Length];
        var values = new Tensor[_values.Length];
        using (var scope = NewDisposeScope())
        {
            var index = tensor(keep, device: _keys[0].device);
            Tensor Part(Tensor[] own, Tensor[]? other, int layer)                           // (rows, H, capacity, D)
            {
                var source = own[layer];
                var result = zeros([rows, source.shape[1], capacity, source.shape[3]], source.dtype, source.device);
                if (keep.Length > 0)
                    result.narrow(0, 0, keep.Length).narrow(2, length - kept, kept).copy_(source.narrow(2, dropFront, kept).index_select(0, index));
                if (other is not null)
                    result.narrow(0, keep.Length, joining!.Batch).narrow(2, length - joined, joined).copy_(other[layer].narrow(2, 0, joined));
                return result.DetachFromDisposeScope();
            }
            for (int i = 0; i < _keys.Length; i++)
            {
                keys[i] = Part(_keys, joining?._keys, i);
                values[i] = Part(_values, joining?._values, i);
            }
        }
        return new KvCache(keys, values, capacity, length);
    }

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
        _keys = [];
        _values = [];
    }
}
