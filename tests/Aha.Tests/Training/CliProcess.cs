using System.Diagnostics;
using System.Text;

namespace Aha.Tests.Training;

/// <summary>
/// Runs the real `aha` (Aha.Cli.dll from its own build folder, same configuration as the tests) as a child process.
/// The test project references the CLI project, so `dotnet test` on a clean clone builds it first.
/// </summary>
sealed class CliProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _stdout = new(), _stderr = new();

    public CliProcess(params string[] args) : this(null, args) { }

    /// <param name="environment">Extra environment variables for the child, e.g. the AHA_FAULT_* test seams.</param>
    public CliProcess(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits for exit (failing the test after <paramref name="timeout"/>) and returns the exit code.</summary>
    public int Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"aha did not finish within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        _process.WaitForExit(); // drains the redirected streams
        return _process.ExitCode;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>SIGKILL on Unix: no handler runs, nothing is flushed — the harshest crash.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public static int Run(TimeSpan timeout, out string stdout, out string stderr, params string[] args)
    {
        using var process = new CliProcess(args);
        int code = process.Wait(timeout);
        (stdout, stderr) = (process.Stdout, process.Stderr);
        return code;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }

    /// <summary>The CLI's dll, for harnesses that start it themselves.</summary>
    public static string Dll { get; } = FindDll();

    static string FindDll()
    {
        // tests/Aha.Tests/bin/<Configuration>/<tfm>/ → src/Aha.Cli/bin/<Configuration>/<tfm>/Aha.Cli.dll
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = output.Name, configuration = output.Parent!.Name;
        for (var dir = output; dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "src", "Aha.Cli", "bin", configuration, tfm, "Aha.Cli.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"Aha.Cli.dll ({configuration}/{tfm}) not found above {output.FullName}; build the solution first (dotnet build Aha.slnx).");
    }
}
