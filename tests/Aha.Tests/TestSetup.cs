using System.Runtime.CompilerServices;
using Aha.Runtime;

namespace Aha.Tests;

static class TestSetup
{
    /// <summary>Makes libtorch loadable before any test touches TorchSharp.</summary>
    [ModuleInitializer]
    internal static void LoadTorch() => TorchRuntime.Initialize();
}
