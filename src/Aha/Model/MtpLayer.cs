using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// One DeepSeek-V3 multi-token-prediction module, stored as <c>model.layers.{num_hidden_layers + k}</c> like the released
/// checkpoint: h' = eh_proj([enorm(Emb(t_{i+k})); hnorm(h_i)]), then a full decoder block. Module k predicts token i+k+1
/// at position i. The embedding and output head are the main model's, so <c>embed_tokens</c> and <c>shared_head.head</c>
/// are not stored here; only <c>shared_head.norm</c> is.
/// </summary>
internal sealed class MtpLayer : nn.Module
{
    [ComponentName(Name = "enorm")] RmsNorm _embeddingNorm;
    [ComponentName(Name = "hnorm")] RmsNorm _hiddenNorm;
    [ComponentName(Name = "eh_proj")] Linear _project; // 2C → C
    [ComponentName(Name = "self_attn")] Attention _attention;
    [ComponentName(Name = "mlp")] nn.Module<Tensor, Tensor> _mlp;
    [ComponentName(Name = "input_layernorm")] RmsNorm _inputNorm;
    [ComponentName(Name = "post_attention_layernorm")] RmsNorm _postAttentionNorm;
    [ComponentName(Name = "shared_head")] SharedHead _sharedHead;

    public MtpLayer(ModelConfig config, int layer, Device? device) : base(nameof(MtpLayer))
    {
        int c = config.HiddenSize;
        _embeddingNorm = new RmsNorm(c, config.RmsNormEps, device);
        _hiddenNorm = new RmsNorm(c, config.RmsNormEps, device);
        _project = nn.Linear(2 * c, c, hasBias: false, device: device);
        _attention = Attention.Create(config, layer, device);
        _mlp = LlamaDecoderLayer.Mlp(config, layer, device);
        _inputNorm = new RmsNorm(c, config.RmsNormEps, device);
        _postAttentionNorm = new RmsNorm(c, config.RmsNormEps, device);
        _sharedHead = new SharedHead(c, config.RmsNormEps, device);
        RegisterComponents();
    }

    public DeepSeekMoe? Moe => _mlp as DeepSeekMoe;

    /// <summary>h^k (B, T, C), un-normed, from h^{k−1} (B, T, C) and the embeddings of the tokens k ahead (B, T, C). Never cached.</summary>
    public Tensor forward(Tensor previous, Tensor aheadEmbeddings, Tensor cos, Tensor sin, Tensor? mask, RouterLosses? losses)
    {
        using var scope = NewDisposeScope();
        // Embedding first, as in the released weights (vLLM's DeepSeekMultiTokenPredictorLayer); the paper writes h first.
        var x = _project.forward(cat([_embeddingNorm.forward(aheadEmbeddings), _hiddenNorm.forward(previous)], -1)); // (B, T, C)
        var h = x + _attention.forward(_inputNorm.forward(x), cos, sin, mask, null);
        return scope.MoveToOuter(h + LlamaDecoderLayer.Feed(_mlp, _postAttentionNorm.forward(h), losses));
    }

    /// <summary>shared_head.norm(h): what the shared output head reads.</summary>
    public Tensor Normed(Tensor h) => _sharedHead.Norm.forward(h);

    sealed class SharedHead : nn.Module
    {
        [ComponentName(Name = "norm")] RmsNorm _norm;

        public SharedHead(long size, double eps, Device? device) : base(nameof(SharedHead))
        {
            _norm = new RmsNorm(size, eps, device);
            RegisterComponents();
        }

        public RmsNorm Norm => _norm;
    }
}
