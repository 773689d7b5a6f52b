using Aha.Runtime;
using TorchSharp;

namespace Aha.Tests.Runtime;

public class TorchRuntimeTests
{
    static string LibTorchSharp => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Libtorch_runs_a_matmul_after_initialisation()
    {
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = a.matmul(a.t());
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }

    [Fact]
    public void No_libstdcxx_requirement_is_left_that_the_system_lacks()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(LibTorchSharp)) return;
        var requirements = ElfVersionPatch.ReadRequirements(File.ReadAllBytes(LibTorchSharp));
        var marker = requirements.Single(r => r.Library.StartsWith("libstdc++") && r.Version == "GLIBCXX_3.4.32");
        Assert.True(marker.IsWeak || SystemHas(marker.Version));
    }

    [Fact]
    public void Making_a_requirement_weak_changes_only_its_flag()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(LibTorchSharp)) return;
        byte[] original = File.ReadAllBytes(LibTorchSharp);
        var target = ElfVersionPatch.ReadRequirements(original).First(r => !r.IsWeak);
        byte[] patched = (byte[])original.Clone();
        ElfVersionPatch.MakeWeak(patched, target);
        var after = ElfVersionPatch.ReadRequirements(patched);
        Assert.True(after.Single(r => r.FlagsOffset == target.FlagsOffset).IsWeak);
        Assert.Equal(1, original.Zip(patched).Count(p => p.First != p.Second));
    }

    [Fact]
    public void A_file_that_is_not_elf_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionPatch.ReadRequirements(new byte[100]));
        Assert.Contains("not an ELF file", e.Message);
    }

    static bool SystemHas(string version) =>
        System.Text.Encoding.Latin1.GetString(File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")).Contains("\0" + version + "\0");
}
