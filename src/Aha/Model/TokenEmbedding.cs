using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Token lookup table with PyTorch <c>padding_idx</c> semantics (Hugging Face passes <c>pad_token_id</c>): the pad row
/// starts at zero and its lookups pass no gradient. A managed module rather than TorchSharp's native <c>Embedding</c>,
/// whose <c>weight</c> getter wraps a fresh tensor on every call and cannot be shared cheaply with a tied head.
/// </summary>
internal sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] Parameter _weight;
    readonly long? _paddingIdx;

    public TokenEmbedding(long vocab, long size, long? paddingIdx, Device? device) : base(nameof(TokenEmbedding))
    {
        _weight = nn.Parameter(empty(vocab, size, device: device));
        _paddingIdx = paddingIdx;
        RegisterComponents();
    }

    public Parameter Weight => _weight;

    public override Tensor forward(Tensor ids /* (B, T) */)
    {
        using var scope = NewDisposeScope();
        long b = ids.shape[0], t = ids.shape[1];
        var x = _weight.index_select(0, ids.reshape(-1)).view(b, t, -1); // (B, T, C)
        if (_paddingIdx is long pad && _weight.requires_grad && is_grad_enabled()) // only gradients differ, so decoding skips it
            x = where(ids.eq(pad).unsqueeze(-1), x.detach(), x);
        return scope.MoveToOuter(x);
    }
}
