using System.CommandLine;
using Aha.Runtime;
using TorchSharp;

namespace Aha.Cli.Commands;

static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the runtime (libtorch, threads, devices); with --model, the checkpoint's shape and sizes.");
        command.SetAction(_ =>
        {
            TorchRuntime.Initialize();
            Console.WriteLine($"libtorch: {TorchRuntime.NativeStatus}");
            Console.WriteLine($"threads:  {torch.get_num_threads()}");
            Console.WriteLine($"cuda:     {(torch.cuda.is_available() ? "available" : "not available")}");
            return 0;
        });
        return command;
    }
}
