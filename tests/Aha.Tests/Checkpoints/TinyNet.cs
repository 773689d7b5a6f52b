using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

/// <summary>A small module with an embedding, a layer list, a norm, a buffer and an optionally tied head: the shapes a checkpoint meets.</summary>
sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "embed_tokens")] private readonly Embedding _embed;
    [ComponentName(Name = "layers")] private readonly ModuleList<Linear> _layers;
    [ComponentName(Name = "norm")] private readonly LayerNorm _norm;
    [ComponentName(Name = "lm_head")] private readonly Linear _head;

    public TinyNet(int hidden = 8, int layers = 2, bool tie = false, long seed = 1) : base(nameof(TinyNet))
    {
        torch.manual_seed(seed);
        _embed = nn.Embedding(12, hidden);
        _layers = new ModuleList<Linear>([.. Enumerable.Range(0, layers).Select(_ => nn.Linear(hidden, hidden))]);
        _norm = nn.LayerNorm(hidden);
        _head = nn.Linear(hidden, 12, hasBias: false);
        if (tie) _head.weight = _embed.weight!;
        register_buffer("scale", torch.full(3, (float)seed));
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var h = _embed.forward(ids);
        foreach (var layer in _layers) h = layer.forward(h);
        return scope.MoveToOuter(_head.forward(_norm.forward(h)));
    }
}
