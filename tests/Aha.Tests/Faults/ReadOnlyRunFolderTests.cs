using Aha.Tests.Training;

namespace Aha.Tests.Faults;

/// <summary>A run folder that cannot be written is refused before any training, by every training command.</summary>
public class ReadOnlyRunFolderTests
{
    public static TheoryData<string> Commands => ["pretrain", "sft", "grpo"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_read_only_run_folder_is_refused_before_step_one(string command)
    {
        using var dir = new TempDirectory();
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the read-only test uses Unix permissions");
        string target = ReadOnlyFolder(dir);
        string[] args = command switch
        {
            "pretrain" => ["pretrain", "--out", target, "--model-size", "tiny", "--steps", "2", "--threads", "1"],
            // The probe comes before the base model is read, so a missing --model cannot be what stops it.
            "sft" => ["sft", "--out", target, "--model", dir["no-such-model"], "--steps", "2", "--threads", "1"],
            _ => ["grpo", "--out", target, "--model", dir["no-such-model"], "--steps", "2", "--threads", "1"],
        };
        int code = CliProcess.Run(TimeSpan.FromSeconds(60), out var stdout, out var stderr, args);
        Assert.Equal(1, code);
        Assert.Contains($"--out {target} is not writable", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("step ", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// An empty folder without write permission; as root (who ignores permissions) a folder in /sys, which no one may
    /// create or write — still a run folder that cannot be written, found only by trying.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    static string ReadOnlyFolder(TempDirectory dir)
    {
        string folder = dir["read-only"];
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            File.WriteAllText(Path.Combine(folder, "probe"), "");
            File.Delete(Path.Combine(folder, "probe"));
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Assert.True(Directory.Exists("/sys"), "as root, the read-only test needs /sys (a read-only file system) to exist");
            return "/sys/aha-test-run";
        }
        catch (UnauthorizedAccessException) { return folder; }
    }
}
