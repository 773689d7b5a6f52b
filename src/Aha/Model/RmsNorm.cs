using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>Root-mean-square norm as in Hugging Face <c>LlamaRMSNorm</c>: statistics in float32, weight applied after casting back.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] Parameter _weight;
    readonly double _eps;

    public RmsNorm(long size, double eps, Device? device) : base(nameof(RmsNorm))
    {
        _weight = nn.Parameter(ones(size, device: device));
        _eps = eps;
        RegisterComponents();
    }

    internal Tensor Weight => _weight;
    internal double Eps => _eps;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        bool cast = x.dtype != float32; // each skipped no-op cast is one libtorch call fewer per norm
        var h = cast ? x.to(float32) : x;
        var normed = h * rsqrt(h.square().mean([-1], keepdim: true) + _eps);
        return scope.MoveToOuter(_weight * (cast ? normed.to(x.dtype) : normed));
    }
}
