return Edge.Device.DeviceCli.Run(args, Console.Out, Console.Error);
