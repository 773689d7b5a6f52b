using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Collects the sequence-wise balance loss of every MoE layer during one training forward. Terms are detached from the
/// layers' dispose scopes as they arrive and summed into the caller's scope by <see cref="Total"/>.
/// </summary>
internal sealed class RouterLosses(double alpha)
{
    readonly List<Tensor> _terms = [];

    public double Alpha => alpha;

    public void Add(Tensor term) => _terms.Add(term.DetachFromDisposeScope());

    /// <summary>α · Σ over layers of the per-sequence balance loss, a scalar in the current dispose scope (0 when there is none).</summary>
    public Tensor Total(Device device)
    {
        var total = zeros([], float32, device);
        foreach (var term in _terms)
        {
            total = total + term;
            term.Dispose(); // the autograd graph keeps its own reference
        }
        _terms.Clear();
        return total * alpha;
    }
}
