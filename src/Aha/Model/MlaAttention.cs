using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// DeepSeek-V3's Multi-head Latent Attention (Hugging Face <c>DeepseekV3Attention</c> with <c>rope_interleave = false</c>).
/// Keys and values are up-projected from one compressed latent c = norm(W_DKV·x) of width d_c; position enters through a
/// separate RoPE part, d_R dims per query head and one d_R key shared by all heads. Only c and that key are cached, so a
/// position costs d_c + d_R numbers per layer instead of 2·H·D.
/// </summary>
internal sealed class MlaAttention : Attention
{
    [ComponentName(Name = "q_proj")] Linear? _q;                // C → H·(dn + dR), when q_lora_rank is off
    [ComponentName(Name = "q_a_proj")] Linear? _qA;             // C → d_q
    [ComponentName(Name = "q_a_layernorm")] RmsNorm? _qANorm;
    [ComponentName(Name = "q_b_proj")] Linear? _qB;             // d_q → H·(dn + dR)
    [ComponentName(Name = "kv_a_proj_with_mqa")] Linear _kvA;   // C → d_c + dR
    [ComponentName(Name = "kv_a_layernorm")] RmsNorm _kvANorm;
    [ComponentName(Name = "kv_b_proj")] Linear _kvB;            // d_c → H·(dn + dv)
    [ComponentName(Name = "o_proj")] Linear _o;                 // H·dv → C
    readonly int _heads, _nope, _rope, _v, _rank, _layer;

    public MlaAttention(ModelConfig config, int layer, Device? device) : base(nameof(MlaAttention))
    {
        (_heads, _nope, _rope, _v, _rank, _layer) =
            (config.NumAttentionHeads, config.QkNopeHeadDim!.Value, config.QkRopeHeadDim!.Value, config.VHeadDim!.Value, config.KvLoraRank!.Value, layer);
        int c = config.HiddenSize, queryWidth = _heads * (_nope + _rope);
        bool bias = config.AttentionBias; // Hugging Face V3 puts attention_bias on q_a, kv_a and o; the up-projections never have one
        if (config.QLoraRank is > 0 and int qRank)
        {
            _qA = nn.Linear(c, qRank, hasBias: bias, device: device);
            _qANorm = new RmsNorm(qRank, config.RmsNormEps, device);
            _qB = nn.Linear(qRank, queryWidth, hasBias: false, device: device);
        }
        else _q = nn.Linear(c, queryWidth, hasBias: false, device: device);
        _kvA = nn.Linear(c, _rank + _rope, hasBias: bias, device: device);
        _kvANorm = new RmsNorm(_rank, config.RmsNormEps, device);
        _kvB = nn.Linear(_rank, _heads * (_nope + _v), hasBias: false, device: device);
        _o = nn.Linear(_heads * _v, c, hasBias: bias, device: device);
        RegisterComponents();
    }

    /// <summary>Decode steps (one new token over a cache) multiply kv_b_proj into the query and output instead of expanding every cached latent.</summary>
    public bool AbsorbForDecode { get; set; } = true;

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = (_q is not null ? SkinnyLinear.Forward(_q, x) : SkinnyLinear.Forward(_qB!, _qANorm!.forward(SkinnyLinear.Forward(_qA!, x))))
            .view(b, t, _heads, _nope + _rope).transpose(1, 2);                               // (B, H, T, dn + dR)
        var qNope = q.narrow(-1, 0, _nope);                                                   // (B, H, T, dn)
        var qRope = RotaryEmbedding.Apply(q.narrow(-1, _nope, _rope), cos, sin);             // (B, H, T, dR)
        var kv = SkinnyLinear.Forward(_kvA, x);                                               // (B, T, d_c + dR)
        var latent = _kvANorm.forward(kv.narrow(-1, 0, _rank)).unsqueeze(1);                  // (B, 1, T, d_c)
        var kRope = RotaryEmbedding.Apply(kv.narrow(-1, _rank, _rope).unsqueeze(1), cos, sin); // (B, 1, T, dR)
        if (cache is not null) (latent, kRope) = cache.Append(_layer, latent, kRope);         // (B, 1, Tk, d_c), (B, 1, Tk, dR)
        var y = AbsorbForDecode && cache is not null && t == 1
            ? Absorbed(qNope, qRope, latent, kRope, mask)
            : Expanded(qNope, qRope, latent, kRope, mask, t);                                 // (B, H, T, dv)
        y = y.transpose(1, 2).reshape(b, t, _heads * _v);                                    // (B, T, H·dv)
        return scope.MoveToOuter(SkinnyLinear.Forward(_o, y));
    }

    // The textbook form: per-head keys and values for every position, then ordinary attention.
    Tensor Expanded(Tensor qNope, Tensor qRope, Tensor latent, Tensor kRope, Tensor? mask, long t)
    {
        long b = latent.shape[0], tk = latent.shape[2];
        var kv = _kvB.forward(latent.squeeze(1)).view(b, tk, _heads, _nope + _v).transpose(1, 2); // (B, H, Tk, dn + dv)
        var k = cat([kv.narrow(-1, 0, _nope), kRope.expand(b, _heads, tk, _rope)], -1);           // (B, H, Tk, dn + dR)
        var v = kv.narrow(-1, _nope, _v);                                                          // (B, H, Tk, dv)
        var q = cat([qNope, qRope], -1);                                                           // (B, H, T, dn + dR)
        // SDPA's default scale 1/√(dn + dR) is Hugging Face's softmax_scale (without YaRN).
        return nn.functional.scaled_dot_product_attention(q, k, v, mask, is_casual: mask is null && t > 1);
    }

    // qᵀ·(W_UK·c) = (W_UKᵀ·q)ᵀ·c and W_UV·(Σ p·c) = Σ p·(W_UV·c): attend in latent space, so a step costs O(Tk·d_c) per head.
    Tensor Absorbed(Tensor qNope, Tensor qRope, Tensor latent, Tensor kRope, Tensor? mask)
    {
        var w = _kvB.weight!.view(_heads, _nope + _v, _rank);                                  // (H, dn + dv, d_c)
        var qLatent = qNope.matmul(w.narrow(1, 0, _nope).unsqueeze(0));                      // (B, H, T, d_c)
        var scores = qLatent.matmul(latent.transpose(-1, -2)) + qRope.matmul(kRope.transpose(-1, -2)); // (B, H, T, Tk)
        scores = scores * (1.0 / Math.Sqrt(_nope + _rope));
        if (mask is not null) scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);
        var context = scores.softmax(-1).matmul(latent);                                     // (B, H, T, d_c)
        return context.matmul(w.narrow(1, _nope, _v).transpose(1, 2).unsqueeze(0));         // (B, H, T, dv)
    }
}
