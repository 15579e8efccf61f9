package spreadsheet_test

import (
	"log"
	"os"

	"github.com/vssubs/vssubs-go/spreadsheet"
)

func ExampleWriteTemplate() {
	// Writes the spreadsheet users fill in; spreadsheet.CSV writes the CSV header instead.
	// WithoutBOM leaves out the byte order mark Excel needs, for this example's output.
	if err := spreadsheet.WriteTemplate(os.Stdout, spreadsheet.CSV, spreadsheet.WithoutBOM()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// First name,Last name,Email,Subscription level,Reference,Country/region,Language,Downloads,Notification email
}
