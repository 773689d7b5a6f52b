using System.Diagnostics;
using static TorchSharp.torch;

namespace Aha.Runtime;

/// <summary>What one libtorch call costs from .NET before it does any work: the other floor of small-batch decoding.</summary>
public static class OpOverhead
{
    /// <summary>Seconds of one tiny libtorch call from .NET (an add of two 4-element tensors in a dispose scope): the per-op overhead floor.</summary>
    public static double Measure(int calls = 5_000)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = ones(4);
        for (int i = 0; i < 100; i++) using (NewDisposeScope()) _ = x + x;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) using (NewDisposeScope()) _ = x + x;
        return clock.Elapsed.TotalSeconds / calls;
    }
}
