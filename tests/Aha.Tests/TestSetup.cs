using System.Runtime.CompilerServices;
using Aha.Runtime;

// Tests seed and draw from torch's process-wide random generator (building any model does), so test classes running in
// parallel could change each other's weights and samples; run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Aha.Tests;

static class TestSetup
{
    /// <summary>Makes libtorch loadable before any test touches TorchSharp.</summary>
    [ModuleInitializer]
    internal static void LoadTorch() => TorchRuntime.Initialize();
}
