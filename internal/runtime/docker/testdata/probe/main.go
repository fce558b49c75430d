// Command probe is a tiny static program the docker driver's tests put in
// their FROM-scratch image (which has no shell). Each argument is one step,
// run in order:
//
//	print:TEXT   TEXT and a newline on stdout
//	stderr:TEXT  TEXT and a newline on stderr
//	env:NAME     NAME=value on stdout
//	pwd          the working directory
//	cat          copy stdin to stdout
//	tty          "tty" when stdin and stdout are terminals, else "notty"
//	sleep:D      sleep for the duration D
//	wait         block until a signal arrives, then exit with its number
//	exit:N       exit with code N
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	for _, step := range os.Args[1:] {
		op, arg, _ := strings.Cut(step, ":")
		switch op {
		case "print":
			fmt.Println(arg)
		case "stderr":
			fmt.Fprintln(os.Stderr, arg)
		case "env":
			fmt.Printf("%s=%s\n", arg, os.Getenv(arg))
		case "pwd":
			wd, _ := os.Getwd()
			fmt.Println(wd)
		case "cat":
			io.Copy(os.Stdout, os.Stdin)
		case "tty":
			if isTerminal(0) && isTerminal(1) {
				fmt.Println("tty")
			} else {
				fmt.Println("notty")
			}
		case "sleep":
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "wait":
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1)
			s := <-ch
			os.Exit(int(s.(syscall.Signal)))
		case "exit":
			n, _ := strconv.Atoi(arg)
			os.Exit(n)
		default:
			fmt.Fprintf(os.Stderr, "probe: unknown step %q\n", step)
			os.Exit(100)
		}
	}
}

func isTerminal(fd uintptr) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
