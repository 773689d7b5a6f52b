using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Aha.Runtime;

/// <summary>
/// Makes libtorch loadable and configures it, once per process, before the first torch call.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>libLibTorchSharp.so</c> is linked against GCC 13 and requires the version
/// <c>GLIBCXX_3.4.32</c>, whose only symbol (<c>std::ios_base_library_init</c>) is a marker needing no code.
/// Older systems (Debian 12: libstdc++ stops at 3.4.30) refuse to load it. Where — and only where — the
/// system libstdc++ lacks a version the library requires, we mark that requirement weak on the copy in this
/// application's own output folder (never the NuGet cache). Newer systems get the untouched library.
/// </remarks>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static bool _ready;

    /// <summary>What <see cref="Initialize"/> did to the native library, for `aha info` and diagnostics.</summary>
    public static string NativeStatus { get; private set; } = "not initialised";

    /// <summary>Prepares the native library and sets the thread count (0 = all cores).</summary>
    public static void Initialize(int threads = 0)
    {
        lock (Gate)
        {
            if (!_ready)
            {
                // OpenMP threads that spin while waiting collapse when the cores are shared (measured: 2 threads on a
                // loaded 2-core machine trained 26× slower than with PASSIVE). Read once when libtorch loads, so set it first.
                NativeEnvironment.SetDefault("OMP_WAIT_POLICY", "PASSIVE");
                if (OperatingSystem.IsLinux()) PatchLibTorchSharpIfNeeded();
                _ready = true;
            }
            int n = threads > 0 ? threads : Environment.ProcessorCount;
            if (torch.get_num_threads() != n) torch.set_num_threads(n);
        }
    }

    /// <summary>Resolves `auto` to cuda when available, else cpu.</summary>
    public static torch.Device ResolveDevice(string device)
    {
        Initialize();
        return device switch
        {
            "auto" => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
            "cpu" => torch.CPU,
            "cuda" when torch.cuda.is_available() => torch.CUDA,
            "cuda" => throw new ArgumentException("--device cuda: CUDA is not available (this build uses TorchSharp-cpu). Use --device cpu or auto."),
            _ => throw new ArgumentException($"--device '{device}': expected cpu, cuda or auto."),
        };
    }

    static void PatchLibTorchSharpIfNeeded()
    {
        string? lib = FindLibTorchSharp();
        if (lib is null) { NativeStatus = "libLibTorchSharp.so not found beside the app; TorchSharp's own loader decides"; return; }
        string? libstdcxx = FindSystemLibStdCxx();
        if (libstdcxx is null) { NativeStatus = $"{lib}: no system libstdc++ found; left untouched"; return; }

        byte[] elf = File.ReadAllBytes(lib);
        string system = Encoding.Latin1.GetString(File.ReadAllBytes(libstdcxx));
        var missing = ElfVersionPatch.ReadRequirements(elf)
            .Where(r => r.Library.StartsWith("libstdc++", StringComparison.Ordinal) && !r.IsWeak
                        && !system.Contains($"\0{r.Version}\0", StringComparison.Ordinal))
            .ToList();
        if (missing.Count == 0) { NativeStatus = $"{lib}: every libstdc++ version it needs is present or weak"; return; }

        foreach (var r in missing) ElfVersionPatch.MakeWeak(elf, r);
        string tmp = lib + ".aha-tmp";
        try
        {
            File.WriteAllBytes(tmp, elf);
            File.Move(tmp, lib, overwrite: true); // atomic: a concurrent loader sees the old or the new file, never half of one
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidOperationException(
                $"{lib} needs {string.Join(", ", missing.Select(m => m.Version))}, which {libstdcxx} lacks, and Aha cannot write the weakened copy: {e.Message}. " +
                "Run once from a writable install (or as the owner of that folder), or install a libstdc++ from GCC 13 or newer.", e);
        }
        NativeStatus = $"{lib}: marked {string.Join(", ", missing.Select(m => m.Version))} weak (absent from {libstdcxx})";
    }

    static string? FindLibTorchSharp()
    {
        string[] dirs =
        [
            Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"),
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"),
            AppContext.BaseDirectory,
        ];
        return dirs.Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists);
    }

    static string? FindSystemLibStdCxx()
    {
        try
        {
            // The copy this process already mapped is the one the loader will bind against.
            var mapped = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6 && p[5].Contains("libstdc++.so", StringComparison.Ordinal))
                .Select(p => p[5]).FirstOrDefault();
            if (mapped is not null && File.Exists(mapped)) return mapped;
        }
        catch (IOException) { }
        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib64/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }
}
