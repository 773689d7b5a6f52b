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

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
        _keys = [];
        _values = [];
    }
}
